package io.lb4j.dns;

import static io.lb4j.dns.ScriptedDns.a;
import static io.lb4j.dns.ScriptedDns.aaaa;
import static io.lb4j.dns.ScriptedDns.cname;
import static io.lb4j.dns.ScriptedDns.name;
import static io.lb4j.dns.ScriptedDns.srv;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import io.lb4j.discovery.Member;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Type;

class DnsResolutionTest {
  private static final String SERVER = "127.0.0.53:5353";

  private final ScriptedDns dns = new ScriptedDns();

  private DnsResolution resolution(String name, DnsRecordType record, int port) {
    return new DnsResolution(dns, name(name), record, port, SERVER);
  }

  private static DnsResolution.Answer answer(DnsResolution.Outcome o) {
    return assertInstanceOf(DnsResolution.Answer.class, o, () -> o.toString());
  }

  private static String failure(DnsResolution.Outcome o) {
    return assertInstanceOf(DnsResolution.Failure.class, o, () -> o.toString()).reason();
  }

  /** {@code id weight} of each member, in order. */
  private static List<String> members(DnsResolution.Answer a) {
    return a.members().stream().map(m -> m.id() + " w" + m.weight()).toList();
  }

  @Test
  void resolve_aRecords_everyAddressAMemberAtThePort_ttlTheSmallest() {
    dns.answer(
        "web.test",
        Type.A,
        List.of(a("web.test", 30, "127.10.0.2"), a("web.test", 20, "127.10.0.1")));
    DnsResolution.Answer answer = answer(resolution("web.test", DnsRecordType.A, 8080).resolve());
    assertEquals(List.of("127.10.0.1:8080 w1", "127.10.0.2:8080 w1"), members(answer));
    assertEquals(20, answer.ttlSeconds());
    assertEquals(List.of("web.test. A"), dns.takeQueries());
  }

  @Test
  void resolve_cnameChain_followsItToTheAddresses_ttlIncludesTheCname() {
    dns.answer(
        "web.test",
        Type.A,
        List.of(
            cname("web.test", 5, "lb.test"),
            cname("lb.test", 60, "pool.test"),
            a("pool.test", 60, "127.10.0.1"),
            a("elsewhere.test", 1, "127.10.9.9")));
    DnsResolution.Answer answer = answer(resolution("web.test", DnsRecordType.A, 80).resolve());
    assertEquals(List.of("127.10.0.1:80 w1"), members(answer));
    assertEquals(5, answer.ttlSeconds());
  }

  @Test
  void resolve_nxdomain_failureNamesTheNameTypeServerAndCode() {
    dns.rcode("web.test", Type.A, Rcode.NXDOMAIN);
    assertEquals(
        "web.test A via 127.0.0.53:5353: NXDOMAIN (the name does not exist)",
        failure(resolution("web.test", DnsRecordType.A, 80).resolve()));
  }

  @Test
  void resolve_servfail_failure() {
    dns.rcode("web.test", Type.AAAA, Rcode.SERVFAIL);
    assertEquals(
        "web.test AAAA via 127.0.0.53:5353: SERVFAIL",
        failure(resolution("web.test", DnsRecordType.AAAA, 80).resolve()));
  }

  @Test
  void resolve_nodata_failure() {
    dns.answer("web.test", Type.A, List.of());
    assertEquals(
        "web.test A via 127.0.0.53:5353: NOERROR but no A records (NODATA)",
        failure(resolution("web.test", DnsRecordType.A, 80).resolve()));
  }

  @Test
  void resolve_cnameToNothing_nodataSaysWhereTheChainEnded() {
    dns.answer("web.test", Type.A, List.of(cname("web.test", 5, "gone.test")));
    assertEquals(
        "web.test A via 127.0.0.53:5353: NOERROR but no A records (NODATA) at the end of its"
            + " CNAME chain, gone.test",
        failure(resolution("web.test", DnsRecordType.A, 80).resolve()));
  }

  @Test
  void resolve_noResponse_failureSaysWhy() {
    dns.fail("web.test", Type.A, new IOException("timed out after 2s"));
    assertEquals(
        "web.test A via 127.0.0.53:5353: no response (timed out after 2s)",
        failure(resolution("web.test", DnsRecordType.A, 80).resolve()));
  }

  @Test
  void resolve_aaaa_ipv6MemberIds() {
    dns.answer("web.test", Type.AAAA, List.of(aaaa("web.test", 30, "2001:db8::7")));
    DnsResolution.Answer answer = answer(resolution("web.test", DnsRecordType.AAAA, 80).resolve());
    assertEquals(List.of("ip6-2001-db8--7.80 w1"), members(answer));
  }

  @Test
  void resolve_aAndAaaaOneFamilyEmpty_answersTheOther_ttlBoundedByTheNegativeTtl() {
    dns.answer("web.test", Type.A, List.of(a("web.test", 300, "127.10.0.1")));
    dns.nodata("web.test", Type.AAAA, 45);
    DnsResolution.Answer answer =
        answer(resolution("web.test", DnsRecordType.A_AAAA, 80).resolve());
    assertEquals(List.of("127.10.0.1:80 w1"), members(answer));
    assertEquals(45, answer.ttlSeconds());
    assertEquals(List.of("web.test. A", "web.test. AAAA"), dns.takeQueries());
  }

  @Test
  void resolve_aAndAaaaBoth_everyAddress() {
    dns.answer("web.test", Type.A, List.of(a("web.test", 30, "127.10.0.1")));
    dns.answer("web.test", Type.AAAA, List.of(aaaa("web.test", 30, "::1")));
    assertEquals(
        List.of("127.10.0.1:80 w1", "ip6---1.80 w1"),
        members(answer(resolution("web.test", DnsRecordType.A_AAAA, 80).resolve())));
  }

  @Test
  void resolve_aAndAaaaOneFamilyFails_theWholeResolutionFails() {
    dns.answer("web.test", Type.A, List.of(a("web.test", 30, "127.10.0.1")));
    dns.rcode("web.test", Type.AAAA, Rcode.SERVFAIL);
    assertEquals(
        "web.test AAAA via 127.0.0.53:5353: SERVFAIL",
        failure(resolution("web.test", DnsRecordType.A_AAAA, 80).resolve()));
  }

  @Test
  void resolve_aAndAaaaBothEmpty_failureNamesBoth() {
    dns.answer("web.test", Type.A, List.of());
    dns.answer("web.test", Type.AAAA, List.of());
    assertEquals(
        "web.test A via 127.0.0.53:5353: NOERROR but no A records (NODATA); web.test AAAA via"
            + " 127.0.0.53:5353: NOERROR but no AAAA records (NODATA)",
        failure(resolution("web.test", DnsRecordType.A_AAAA, 80).resolve()));
  }

  @Test
  void resolve_srv_lowestPriorityTierOnly_portsAndWeightsFromTheRecords() {
    String svc = "_http._tcp.web.test";
    dns.answer(
        svc,
        Type.SRV,
        List.of(
            srv(svc, 60, 10, 5, 8080, "a.test"),
            srv(svc, 60, 10, 20, 8081, "b.test"),
            srv(svc, 60, 20, 1, 8082, "c.test")),
        a("a.test", 30, "127.10.0.1"),
        a("b.test", 40, "127.10.0.2"),
        a("c.test", 1, "127.10.0.3"));
    DnsResolution.Answer answer = answer(resolution(svc, DnsRecordType.SRV, 0).resolve());
    assertEquals(List.of("127.10.0.1:8080 w5", "127.10.0.2:8081 w20"), members(answer));
    assertEquals(30, answer.ttlSeconds());
    assertEquals(List.of(svc + ". SRV"), dns.takeQueries(), "the additional section was used");
  }

  @Test
  void resolve_srvWeightZero_becomesOne() {
    String svc = "_http._tcp.web.test";
    dns.answer(
        svc,
        Type.SRV,
        List.of(srv(svc, 60, 0, 0, 80, "a.test"), srv(svc, 60, 0, 100, 80, "b.test")),
        a("a.test", 60, "127.10.0.1"),
        a("b.test", 60, "127.10.0.2"));
    assertEquals(
        List.of("127.10.0.1:80 w1", "127.10.0.2:80 w100"),
        members(answer(resolution(svc, DnsRecordType.SRV, 0).resolve())));
  }

  @Test
  void resolve_srvWithoutAdditional_asksEachTargetOnceForAAndAaaa() {
    String svc = "_http._tcp.web.test";
    dns.answer(
        svc, Type.SRV, List.of(srv(svc, 60, 0, 1, 80, "a.test"), srv(svc, 60, 0, 1, 81, "a.test")));
    dns.answer("a.test", Type.A, List.of(a("a.test", 15, "127.10.0.1")));
    dns.answer("a.test", Type.AAAA, List.of(aaaa("a.test", 25, "2001:db8::1")));
    DnsResolution.Answer answer = answer(resolution(svc, DnsRecordType.SRV, 0).resolve());
    assertEquals(
        List.of(
            "127.10.0.1:80 w1",
            "127.10.0.1:81 w1",
            "ip6-2001-db8--1.80 w1",
            "ip6-2001-db8--1.81 w1"),
        members(answer));
    assertEquals(15, answer.ttlSeconds());
    assertEquals(
        List.of(svc + ". SRV", "a.test. A", "a.test. AAAA"), dns.takeQueries(), "asked once");
  }

  @Test
  void resolve_srvTargetsWithSeveralAddresses_eachHostKeepsItsShare() {
    String svc = "_http._tcp.web.test";
    dns.answer(
        svc,
        Type.SRV,
        List.of(
            srv(svc, 60, 0, 3, 80, "v4.test"),
            srv(svc, 60, 0, 3, 80, "dual.test"),
            srv(svc, 60, 0, 3, 80, "three.test")),
        a("v4.test", 60, "127.10.0.1"),
        a("dual.test", 60, "127.10.0.2"),
        aaaa("dual.test", 60, "2001:db8::2"),
        a("three.test", 60, "127.10.0.3"),
        a("three.test", 60, "127.10.0.4"),
        a("three.test", 60, "127.10.0.5"));
    // lcm(1, 2, 3) = 6: v4 3*6/1 = 18; dual 3*6/2 = 9 twice; three 3*6/3 = 6 three times
    assertEquals(
        List.of(
            "127.10.0.1:80 w18",
            "127.10.0.2:80 w9",
            "127.10.0.3:80 w6",
            "127.10.0.4:80 w6",
            "127.10.0.5:80 w6",
            "ip6-2001-db8--2.80 w9"),
        members(answer(resolution(svc, DnsRecordType.SRV, 0).resolve())));
  }

  @Test
  void resolve_srvShareScaledBeyondTheLargestWeight_cappedNeverZero() {
    String svc = "_http._tcp.web.test";
    dns.answer(
        svc,
        Type.SRV,
        List.of(srv(svc, 60, 0, 60000, 80, "big.test"), srv(svc, 60, 0, 0, 80, "dual.test")),
        a("big.test", 60, "127.10.0.1"),
        a("dual.test", 60, "127.10.0.2"),
        aaaa("dual.test", 60, "2001:db8::2"));
    assertEquals(
        List.of("127.10.0.1:80 w65535", "127.10.0.2:80 w1", "ip6-2001-db8--2.80 w1"),
        members(answer(resolution(svc, DnsRecordType.SRV, 0).resolve())));
  }

  @Test
  void resolve_srvLowestTierWithoutAddresses_theNextTierAnswers() {
    String svc = "_http._tcp.web.test";
    dns.answer(
        svc,
        Type.SRV,
        List.of(srv(svc, 60, 1, 1, 80, "gone.test"), srv(svc, 60, 2, 1, 80, "b.test")),
        a("b.test", 60, "127.10.0.2"));
    // gone.test: NXDOMAIN for A and AAAA (the script's default)
    assertEquals(
        List.of("127.10.0.2:80 w1"),
        members(answer(resolution(svc, DnsRecordType.SRV, 0).resolve())));
  }

  @Test
  void resolve_srvTargetServfail_theWholeResolutionFails() {
    String svc = "_http._tcp.web.test";
    dns.answer(
        svc,
        Type.SRV,
        List.of(srv(svc, 60, 0, 1, 80, "a.test"), srv(svc, 60, 0, 1, 80, "b.test")),
        a("b.test", 60, "127.10.0.2"));
    dns.rcode("a.test", Type.A, Rcode.SERVFAIL);
    assertEquals(
        "a.test A via 127.0.0.53:5353: SERVFAIL (a target of _http._tcp.web.test SRV via"
            + " 127.0.0.53:5353)",
        failure(resolution(svc, DnsRecordType.SRV, 0).resolve()));
  }

  @Test
  void resolve_srvSameAddressAndPortTwice_weightsSummedCappedAt65535() {
    String svc = "_http._tcp.web.test";
    dns.answer(
        svc,
        Type.SRV,
        List.of(
            srv(svc, 60, 0, 40000, 80, "a.test"),
            srv(svc, 60, 0, 40000, 80, "alias.test"),
            srv(svc, 60, 0, 3, 80, "b.test"),
            srv(svc, 60, 0, 4, 80, "b2.test")),
        a("a.test", 60, "127.10.0.1"),
        a("alias.test", 60, "127.10.0.1"),
        a("b.test", 60, "127.10.0.2"),
        a("b2.test", 60, "127.10.0.2"));
    assertEquals(
        List.of("127.10.0.1:80 w65535", "127.10.0.2:80 w7"),
        members(answer(resolution(svc, DnsRecordType.SRV, 0).resolve())));
  }

  @Test
  void resolve_srvOnlyTargetDot_anExplicitlyEmptyAnswer() {
    String svc = "_http._tcp.web.test";
    dns.answer(svc, Type.SRV, List.of(srv(svc, 30, 0, 0, 1, ".")));
    DnsResolution.Answer answer = answer(resolution(svc, DnsRecordType.SRV, 0).resolve());
    assertEquals(List.of(), answer.members());
    assertEquals(30, answer.ttlSeconds());
  }

  @Test
  void resolve_srvNoTargetHasAnAddress_failure() {
    String svc = "_http._tcp.web.test";
    dns.answer(
        svc, Type.SRV, List.of(srv(svc, 60, 0, 1, 80, "a.test"), srv(svc, 60, 1, 1, 80, "b.test")));
    dns.answer("a.test", Type.A, List.of());
    assertEquals(
        "_http._tcp.web.test SRV via 127.0.0.53:5353: NOERROR but none of the targets has an"
            + " address (targets: a.test, b.test)",
        failure(resolution(svc, DnsRecordType.SRV, 0).resolve()));
  }

  @Test
  void resolve_srvNxdomain_failure() {
    dns.rcode("_http._tcp.web.test", Type.SRV, Rcode.NXDOMAIN);
    assertEquals(
        "_http._tcp.web.test SRV via 127.0.0.53:5353: NXDOMAIN (the name does not exist)",
        failure(resolution("_http._tcp.web.test", DnsRecordType.SRV, 0).resolve()));
  }

  @Test
  void members_areReadyWithNoZone() {
    dns.answer("web.test", Type.A, List.of(a("web.test", 30, "127.10.0.1")));
    Member m = answer(resolution("web.test", DnsRecordType.A, 80).resolve()).members().get(0);
    assertEquals(Member.State.READY, m.state());
    assertEquals("", m.zone());
  }
}
