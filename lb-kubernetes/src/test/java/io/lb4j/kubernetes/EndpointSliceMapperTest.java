package io.lb4j.kubernetes;

import static io.lb4j.kubernetes.Slices.endpoint;
import static io.lb4j.kubernetes.Slices.port;
import static io.lb4j.kubernetes.Slices.ready;
import static io.lb4j.kubernetes.Slices.slice;
import static io.lb4j.kubernetes.Slices.terminating;
import static io.lb4j.kubernetes.Slices.webPorts;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointConditions;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointPort;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.lb4j.discovery.Member;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The EndpointSlice to member mapping, slice by slice, without an API server. */
class EndpointSliceMapperTest {
  private final EndpointSliceMapper http =
      new EndpointSliceMapper("web", PortRef.named("http"), true, true);

  private static Boolean bool(String s) {
    return s.equals("-") ? null : Boolean.valueOf(s);
  }

  /** The conditions table of docs/discovery-kubernetes.md; '-' is a condition left out. */
  @ParameterizedTest(name = "ready={0} serving={1} terminating={2} -> {3}")
  @CsvSource({
    "true,  true,  false, READY",
    "-,     -,     -,     READY", // absent ready means ready (the API's definition)
    "true,  -,     -,     READY",
    "false, false, false, UNHEALTHY", // starting, or failing its readiness probe
    "false, -,     -,     UNHEALTHY",
    "false, true,  true,  DRAINING", // terminating, still serving: graceful shutdown
    "false, false, true,  DRAINING", // terminating, no longer serving: still drains
    "true,  true,  true,  DRAINING", // publishNotReadyAddresses: terminating wins
  })
  void conditions_mapToState(String ready, String serving, String terminating, Member.State want) {
    assertEquals(
        want,
        EndpointSliceMapper.stateOf(
            new EndpointConditions(bool(ready), bool(serving), bool(terminating))));
    List<Member> m =
        http.map(
                List.of(
                    slice(
                        "web-a",
                        "web",
                        webPorts(),
                        endpoint(
                            "127.10.0.1", "z", bool(ready), bool(serving), bool(terminating)))))
            .members();
    assertEquals(want, m.get(0).state());
  }

  @Test
  void noConditionsAtAll_isReady() {
    EndpointSlice s =
        slice(
            "web-a", "web", webPorts(), new EndpointBuilder().withAddresses("127.10.0.1").build());
    Member m = http.map(List.of(s)).members().get(0);
    assertEquals(Member.State.READY, m.state());
    assertEquals("", m.zone());
  }

  @Test
  void member_idIpPort_weightOne_zone_eachAddressOfAnEndpoint() {
    EndpointSlice s =
        slice(
            "web-a",
            "web",
            webPorts(),
            new EndpointBuilder()
                .withAddresses("127.10.0.1", "127.10.0.2")
                .withZone("eu-1a")
                .withNewTargetRef()
                .withKind("Pod")
                .withName("web-7d4b9")
                .endTargetRef()
                .build());
    List<Member> m = http.map(List.of(s)).members();
    assertEquals(2, m.size());
    assertEquals("127.10.0.1:8080", m.get(0).id(), "the pod's name is not the id");
    assertEquals(8080, m.get(0).port());
    assertEquals(1, m.get(0).weight());
    assertEquals("eu-1a", m.get(1).zone());
  }

  @Test
  void port_perSlice_byNameOrNumber_aSliceWithoutItContributesNothing() {
    // during a change of the Service's target port, slices with the old and the new port coexist
    EndpointSlice old = slice("web-a", "web", List.of(port("http", 8080)), ready("127.10.0.1"));
    EndpointSlice now = slice("web-b", "web", List.of(port("http", 8443)), ready("127.10.0.2"));
    EndpointSlice metrics =
        slice("web-c", "web", List.of(port("metrics", 9090)), ready("127.10.0.3"));
    EndpointSliceMapper.Answer byName = http.map(List.of(old, now, metrics));
    assertEquals(
        List.of("127.10.0.1:8080", "127.10.0.2:8443"),
        byName.members().stream().map(Member::id).toList());
    assertEquals(
        List.of(
            "endpointslice web-c has no port 'http' (its ports: metrics/9090); its 1 endpoints"
                + " contribute nothing"),
        List.copyOf(byName.skipped()));

    EndpointSliceMapper n8443 = new EndpointSliceMapper("web", PortRef.numbered(8443), true, true);
    assertEquals(
        List.of("127.10.0.2:8443"),
        n8443.map(List.of(old, now, metrics)).members().stream().map(Member::id).toList());
  }

  @Test
  void portWithoutNumber_contributesNothing() {
    EndpointSlice s =
        slice(
            "web-a",
            "web",
            List.of(new EndpointPort(null, "http", null, "TCP")),
            ready("127.10.0.1"));
    EndpointSliceMapper.Answer a = http.map(List.of(s));
    assertTrue(a.members().isEmpty());
    assertTrue(
        a.skipped().iterator().next().contains("its ports: http/any"), a.skipped().toString());
  }

  @Test
  void fqdnSlice_skippedWithAReason() {
    EndpointSlice s =
        slice(
            "web-f",
            "web",
            "FQDN",
            webPorts(),
            new EndpointBuilder().withAddresses("web-0.example.test").build());
    EndpointSliceMapper.Answer a = http.map(List.of(s));
    assertTrue(a.members().isEmpty());
    assertEquals(
        "endpointslice web-f: addressType FQDN (expected: IPv4 or IPv6; an FQDN slice names hosts,"
            + " and lb4j takes addresses); its 1 endpoints are skipped",
        a.skipped().iterator().next());
  }

  @Test
  void addresses_notLiteralsOrOfTheWrongFamily_skipped() {
    EndpointSlice s =
        slice(
            "web-a",
            "web",
            webPorts(),
            ready("127.10.0.1"),
            ready("web-0.example.test"),
            ready("2001:db8::1"));
    EndpointSliceMapper.Answer a = http.map(List.of(s));
    assertEquals(List.of("127.10.0.1:8080"), a.members().stream().map(Member::id).toList());
    assertEquals(2, a.skipped().size(), a.skipped().toString());
  }

  @Test
  void ipv6_idsAndFamilies() {
    EndpointSlice v4 = slice("web-4", "web", webPorts(), ready("127.10.0.1"));
    EndpointSlice v6 = slice("web-6", "web", "IPv6", webPorts(), ready("2001:db8::7"));
    assertEquals(
        List.of("127.10.0.1:8080", "ip6-2001-db8--7.8080"),
        http.map(List.of(v4, v6)).members().stream().map(Member::id).toList());
    EndpointSliceMapper v6only = new EndpointSliceMapper("web", PortRef.named("http"), false, true);
    EndpointSliceMapper.Answer a = v6only.map(List.of(v4, v6));
    assertEquals(List.of("ip6-2001-db8--7.8080"), a.members().stream().map(Member::id).toList());
    assertTrue(a.skipped().isEmpty(), "a family left out on purpose is not a problem");
    assertThrows(
        IllegalArgumentException.class,
        () -> new EndpointSliceMapper("web", PortRef.named("http"), false, false));
  }

  @Test
  void anotherServicesSlice_ignored() {
    EndpointSlice api = slice("api-a", "api", webPorts(), ready("127.10.0.9"));
    assertTrue(http.map(List.of(api)).members().isEmpty());
    assertTrue(http.map(List.of(api)).skipped().isEmpty());
  }

  @Test
  void duplicateAddress_oneMember_bestStateThenFirstSliceByName() {
    EndpointSlice a = slice("web-a", "web", webPorts(), terminating("127.10.0.1", true));
    EndpointSlice b = slice("web-b", "web", webPorts(), ready("127.10.0.1", "zone-b"));
    EndpointSlice c = slice("web-c", "web", webPorts(), ready("127.10.0.1", "zone-c"));
    for (List<EndpointSlice> order :
        List.of(List.of(a, b, c), List.of(c, b, a), List.of(b, c, a))) {
      List<Member> m = http.map(order).members();
      assertEquals(1, m.size());
      assertEquals(Member.State.READY, m.get(0).state());
      assertEquals("zone-b", m.get(0).zone(), "the first slice by name among equals: " + order);
    }
  }

  @Test
  void answer_sameForAnyOrderOfSlicesAndEndpoints() {
    List<EndpointSlice> slices = new ArrayList<>();
    for (int s = 0; s < 8; s++) {
      List<Endpoint> eps = new ArrayList<>();
      for (int e = 0; e < 20; e++) {
        eps.add(
            e % 5 == 0 ? terminating("10.1." + s + "." + e, true) : ready("10.1." + s + "." + e));
      }
      slices.add(slice("web-" + s, "web", webPorts(), eps.toArray(Endpoint[]::new)));
    }
    List<Member> want = http.map(slices).members();
    assertEquals(160, want.size());
    long seed = 15;
    Random random = new Random(seed);
    for (int i = 0; i < 20; i++) {
      List<EndpointSlice> shuffled = new ArrayList<>();
      for (EndpointSlice slice : slices) {
        List<Endpoint> endpoints = new ArrayList<>(slice.getEndpoints());
        Collections.shuffle(endpoints, random);
        shuffled.add(new EndpointSliceBuilder(slice).withEndpoints(endpoints).build());
      }
      Collections.shuffle(shuffled, random);
      assertEquals(want, http.map(shuffled).members(), "seed " + seed + ", round " + i);
    }
  }
}
