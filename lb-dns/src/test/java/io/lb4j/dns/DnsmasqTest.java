package io.lb4j.dns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lb4j.Backend;
import io.lb4j.BackendPool;
import io.lb4j.FlowKey;
import io.lb4j.Frontend;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancingRule;
import io.lb4j.Protocol;
import io.lb4j.Selection;
import io.lb4j.core.L4LoadBalancer;
import io.lb4j.discovery.Discovery;
import io.lb4j.discovery.DiscoveryOptions;
import io.lb4j.discovery.DiscoveryStatus;
import io.lb4j.testing.FakeClock;
import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * {@link DnsMembershipSource} against a real dnsmasq on loopback ({@link Dnsmasq}), its schedule on
 * a {@link FakeClock}: time moves only when the test says so, so "within the TTL" is exact, while
 * every query goes to dnsmasq over UDP and shows in its query log.
 */
class DnsmasqTest {
  /** The DNS servers of these tests, each on its own loopback address. */
  private static final String FRONT = "127.0.53.1";

  private static final String UPSTREAM = "127.0.53.2";
  private static final String OTHER = "127.0.53.3";

  /**
   * DNSSEC validation anchored at the root zone's KSK-2017 (key tag 20326, its DS as IANA publishes
   * it): dnsmasq then answers SERVFAIL for any name it must forward, as the upstream's unsigned
   * answers cannot be proven.
   */
  private static final List<String> SERVFAIL_FOR_FORWARDED_NAMES =
      List.of(
          "dnssec",
          "trust-anchor=.,20326,8,2,E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D");

  private final FakeClock clock = new FakeClock();
  private final RecordingListener listener = new RecordingListener();
  private final List<AutoCloseable> closeLater = new ArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    for (int i = closeLater.size() - 1; i >= 0; i--) {
      closeLater.get(i).close();
    }
  }

  private <T extends AutoCloseable> T later(T c) {
    closeLater.add(c);
    return c;
  }

  private Dnsmasq dnsmasq(String address, List<String> conf, String hosts) throws IOException {
    return later(Dnsmasq.start(address, conf, hosts));
  }

  private DnsMembershipSource.Builder source(String name, Dnsmasq server) {
    return DnsMembershipSource.builder(name)
        .server(server.address())
        .timeout(Duration.ofMillis(500))
        .scheduler(clock);
  }

  @Test
  void aRecords_hostsRewrittenAndReloaded_membersFollowAtTheTtl() throws Exception {
    Dnsmasq dns =
        dnsmasq(
            FRONT,
            List.of("local=/test/", "local-ttl=1"),
            "127.0.1.1 web.test\n127.0.1.2 web.test\n");
    DnsMembershipSource source = later(source("web.test", dns).port(8080).build());
    source.start(listener);
    clock.runDueTasks();
    assertEquals(List.of("members [127.0.1.1:8080 w1, 127.0.1.2:8080 w1]"), listener.take());
    assertEquals(List.of(Duration.ofSeconds(1)), clock.pendingDelays(), "dnsmasq's TTL, 1 s");

    dns.hosts("127.0.1.2 web.test\n127.0.1.3 web.test\n");
    clock.forwardTime(Duration.ofMillis(999));
    assertEquals(List.of(), listener.take(), "asked again before the TTL ran out");
    clock.forwardTime(Duration.ofMillis(1));
    assertEquals(List.of("members [127.0.1.2:8080 w1, 127.0.1.3:8080 w1]"), listener.take());
    assertEquals(2, dns.queries("web.test", "A"));
  }

  @Test
  void srvRecords_configurationChangedAndRestarted_membersFollowTheLowestTier() throws Exception {
    String hosts = "127.0.2.1 a.test\n127.0.2.2 b.test\n127.0.2.3 c.test\n";
    Dnsmasq dns =
        dnsmasq(
            FRONT,
            List.of(
                "local=/test/",
                "local-ttl=1",
                "srv-host=_http._tcp.web.test,a.test,8080,10,5",
                "srv-host=_http._tcp.web.test,b.test,8081,10,0",
                "srv-host=_http._tcp.web.test,c.test,8082,20,1"),
            hosts);
    DnsMembershipSource source =
        later(source("_http._tcp.web.test", dns).record(DnsRecordType.SRV).build());
    source.start(listener);
    clock.runDueTasks();
    assertEquals(
        List.of("members [127.0.2.1:8080 w5, 127.0.2.2:8081 w1]"),
        listener.take(),
        "tier 10 only; weight 0 becomes 1");
    assertEquals(0, dns.queries("a.test", "A"), "the additional section had the addresses");

    // srv-host is not re-read on SIGHUP: the same address and port, a new process
    dns.restart(
        List.of(
            "local=/test/",
            "local-ttl=1",
            "srv-host=_http._tcp.web.test,a.test,8080,10,7",
            "srv-host=_http._tcp.web.test,c.test,8082,20,1"));
    clock.forwardTime(Duration.ofSeconds(1));
    assertEquals(List.of("members [127.0.2.1:8080 w7]"), listener.take());

    // the lowest tier's only target has no address: the next tier answers
    dns.restart(
        List.of(
            "local=/test/",
            "local-ttl=1",
            "srv-host=_http._tcp.web.test,gone.test,8080,10,7",
            "srv-host=_http._tcp.web.test,c.test,8082,20,1"));
    clock.forwardTime(Duration.ofSeconds(1));
    assertEquals(List.of("members [127.0.2.3:8082 w1]"), listener.take());
    assertEquals(1, dns.queries("gone.test", "A"), "a target without additional records is asked");
    assertEquals(1, dns.queries("gone.test", "AAAA"));
  }

  @Test
  void nxdomain_balancerKeepsTheLastGoodSetAndReportsFailing() throws Exception {
    Dnsmasq dns =
        dnsmasq(
            FRONT,
            List.of("local=/test/", "local-ttl=1"),
            "127.0.1.1 web.test\n127.0.1.2 web.test\n");
    try (L4LoadBalancer lb = balancer()) {
      Discovery discovery =
          lb.attach("web", source("web.test", dns).port(8080).build(), DiscoveryOptions.DEFAULT);
      clock.runDueTasks();
      assertEquals(List.of("127.0.1.1:8080", "127.0.1.2:8080"), ids(lb));
      assertEquals(DiscoveryStatus.State.OK, discovery.status().state());

      dns.hosts("127.0.9.9 other.test\n");
      clock.forwardTime(Duration.ofSeconds(1));
      DiscoveryStatus failing = lb.discoveries().get(0);
      assertEquals(DiscoveryStatus.State.FAILING, failing.state());
      assertEquals(
          "web.test A via " + dns.server() + ": NXDOMAIN (the name does not exist)",
          failing.lastProblem());
      assertEquals(List.of("127.0.1.1:8080", "127.0.1.2:8080"), ids(lb), "the last good set");
      assertTrue(lb.select(flow(1)).isSelected());

      dns.hosts("127.0.1.2 web.test\n");
      clock.forwardTime(Duration.ofSeconds(1)); // the first retry, 1 s
      assertEquals(DiscoveryStatus.State.OK, discovery.status().state());
      assertEquals(List.of("127.0.1.2:8080"), ids(lb));
      assertEquals(1, discovery.status().failures());
    }
  }

  @Test
  void servfail_balancerKeepsTheLastGoodSetAndReportsFailing() throws Exception {
    Dnsmasq upstream = dnsmasq(UPSTREAM, List.of("address=/#/127.0.9.9"), "");
    List<String> conf = new ArrayList<>(SERVFAIL_FOR_FORWARDED_NAMES);
    conf.add("server=" + upstream.server().replace(':', '#'));
    conf.add("local-ttl=1");
    Dnsmasq dns = dnsmasq(FRONT, conf, "127.0.1.1 web.example\n");
    try (L4LoadBalancer lb = balancer()) {
      Discovery discovery =
          lb.attach("web", source("web.example", dns).port(8080).build(), DiscoveryOptions.DEFAULT);
      clock.runDueTasks();
      assertEquals(List.of("127.0.1.1:8080"), ids(lb));

      dns.hosts(""); // web.example now goes upstream, whose unsigned answer fails validation
      clock.forwardTime(Duration.ofSeconds(1));
      assertEquals(DiscoveryStatus.State.FAILING, discovery.status().state());
      assertEquals(
          "web.example A via " + dns.server() + ": SERVFAIL", discovery.status().lastProblem());
      assertEquals(List.of("127.0.1.1:8080"), ids(lb), "the last good set");
      assertEquals(1, upstream.queries("web.example", "A"), "dnsmasq forwarded it");
    }
  }

  @Test
  void ttlZero_resolvesNoMoreOftenThanTheFloor() throws Exception {
    // dnsmasq's local-ttl is 0 unless set: every answer says "do not cache"
    Dnsmasq dns = dnsmasq(FRONT, List.of("local=/test/"), "127.0.1.1 web.test\n");
    DnsMembershipSource source = later(source("web.test", dns).port(80).build());
    source.start(listener);
    clock.runDueTasks();
    for (int i = 0; i < 100; i++) {
      clock.forwardTime(Duration.ofMillis(100));
    }
    assertEquals(11, dns.queries("web.test", "A"), "one at start, one per second for 10 s");
    assertEquals(11, listener.take().size());

    DnsMembershipSource slower =
        later(source("web.test", dns).port(81).ttlFloor(Duration.ofSeconds(2)).build());
    slower.start(listener);
    long before = dns.queries("web.test", "A");
    source.close();
    clock.runDueTasks();
    for (int i = 0; i < 100; i++) {
      clock.forwardTime(Duration.ofMillis(100));
    }
    assertEquals(6, dns.queries("web.test", "A") - before, "one at start, one per 2 s for 10 s");
  }

  @Test
  void server_theConfiguredResolverIsAsked() throws Exception {
    Dnsmasq first = dnsmasq(FRONT, List.of("local=/test/"), "127.0.1.1 web.test\n");
    Dnsmasq second = dnsmasq(OTHER, List.of("local=/test/"), "127.0.3.3 web.test\n");
    DnsMembershipSource source = later(source("web.test", second).port(80).build());
    assertEquals("dns A web.test port 80 via " + second.server(), source.describe());
    source.start(listener);
    clock.runDueTasks();
    assertEquals(List.of("members [127.0.3.3:80 w1]"), listener.take());
    assertEquals(1, second.queries("web.test", "A"));
    assertEquals(0, first.queries("web.test", "A"));
  }

  @Test
  void serverDown_failureNamesIt_andTheSourceRecoversWhenItIsBack() throws Exception {
    Dnsmasq dns = dnsmasq(FRONT, List.of("local=/test/", "local-ttl=1"), "127.0.1.1 web.test\n");
    DnsMembershipSource source = later(source("web.test", dns).port(80).build());
    source.start(listener);
    clock.runDueTasks();
    assertEquals(List.of("members [127.0.1.1:80 w1]"), listener.take());
    dns.stop();
    clock.forwardTime(Duration.ofSeconds(1));
    List<String> events = listener.take();
    assertEquals(1, events.size());
    assertTrue(
        events.get(0).startsWith("failure web.test A via " + dns.server() + ": no response ("),
        events.get(0));
    dns.restart(List.of("local=/test/", "local-ttl=1"));
    clock.forwardTime(Duration.ofSeconds(1));
    assertEquals(List.of("members [127.0.1.1:80 w1]"), listener.take());
  }

  @Test
  void aaaa_servedOverIpv6Loopback() throws Exception {
    if (System.getenv("CI") != null) {
      assertTrue(hasIpv6Loopback(), "no ::1 on this machine; CI is set, so the test fails");
    }
    Assumptions.assumeTrue(
        hasIpv6Loopback(), "no ::1 on this machine: the IPv6 case cannot run here");
    Dnsmasq dns =
        dnsmasq(
            "::1",
            List.of("local=/test/", "local-ttl=1"),
            "127.0.1.1 web.test\n2001:db8::10 web.test\n2001:db8::11 web.test\n");
    DnsMembershipSource both =
        later(source("web.test", dns).record(DnsRecordType.A_AAAA).port(443).build());
    assertEquals("dns A_AAAA web.test port 443 via " + dns.server(), both.describe());
    assertTrue(dns.server().startsWith("[::1]:"), dns.server());
    both.start(listener);
    clock.runDueTasks();
    assertEquals(
        List.of("members [127.0.1.1:443 w1, ip6-2001-db8--10.443 w1, ip6-2001-db8--11.443 w1]"),
        listener.take());
    DnsMembershipSource v6 =
        later(source("web.test", dns).record(DnsRecordType.AAAA).port(443).build());
    v6.start(listener);
    clock.runDueTasks();
    assertEquals(
        List.of("members [ip6-2001-db8--10.443 w1, ip6-2001-db8--11.443 w1]"), listener.take());
  }

  private static boolean hasIpv6Loopback() throws IOException {
    NetworkInterface lo = NetworkInterface.getByInetAddress(InetAddress.getLoopbackAddress());
    if (lo == null) {
      return false;
    }
    return lo.inetAddresses().anyMatch(a -> a instanceof Inet6Address && a.isLoopbackAddress());
  }

  private L4LoadBalancer balancer() {
    LoadBalancerConfig config =
        LoadBalancerConfig.builder()
            .frontend(Frontend.of("fe", "127.0.0.1"))
            .pool(new BackendPool("web", List.of()))
            .rule(
                LoadBalancingRule.builder("http")
                    .frontend("fe")
                    .frontendPort(80)
                    .backendPool("web")
                    .backendPort(8080)
                    .build())
            .build();
    return L4LoadBalancer.builder()
        .config(config)
        .ticker(clock)
        .clock(clock)
        .maintenanceScheduler(clock)
        .build();
  }

  static List<String> ids(L4LoadBalancer lb) {
    return lb.config().pool("web").backends().stream().map(Backend::id).sorted().toList();
  }

  /** The i-th distinct TCP flow from 127.0.1.0/24-ish clients to 127.0.0.1:80. */
  static FlowKey flow(int i) {
    return FlowKey.ipv4(0x7f000100 + i / 60_000, 1024 + i % 60_000, 0x7f000001, 80, Protocol.TCP);
  }

  static String backendOf(Selection s) {
    return s.isSelected() ? s.backend().id() : s.toString();
  }
}
