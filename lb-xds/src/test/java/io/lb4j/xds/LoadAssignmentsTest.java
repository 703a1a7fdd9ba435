package io.lb4j.xds;

import static io.lb4j.xds.XdsTestServer.endpoint;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.envoyproxy.envoy.config.core.v3.Locality;
import io.envoyproxy.envoy.config.core.v3.Pipe;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.lb4j.discovery.Member;
import java.net.InetAddress;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The mapping table of docs/discovery-xds.md, and the refusals that become NACKs. */
class LoadAssignmentsTest {

  private static ClusterLoadAssignment cla(LocalityLbEndpoints... groups) {
    return ClusterLoadAssignment.newBuilder()
        .setClusterName("web")
        .addAllEndpoints(List.of(groups))
        .build();
  }

  private static LocalityLbEndpoints group(int priority, Locality locality, LbEndpoint... es) {
    return LocalityLbEndpoints.newBuilder()
        .setPriority(priority)
        .setLocality(locality)
        .addAllLbEndpoints(List.of(es))
        .build();
  }

  private static LocalityLbEndpoints group(LbEndpoint... es) {
    return group(0, Locality.getDefaultInstance(), es);
  }

  private static String refusal(ClusterLoadAssignment cla) {
    return assertThrows(RefusedUpdate.class, () -> LoadAssignments.members(cla)).getMessage();
  }

  @Test
  void members_addressPortWeightDefaultAndIds() throws Exception {
    List<Member> m =
        LoadAssignments.members(
            cla(
                group(
                    endpoint("127.10.0.7", 8080),
                    endpoint("127.10.0.8", 9090, 3, HealthStatus.HEALTHY),
                    endpoint("2001:db8::7", 8080))));
    assertEquals(
        List.of(
            new Member(
                "127.10.0.7:8080",
                InetAddress.getByName("127.10.0.7"),
                8080,
                1,
                Member.State.READY,
                ""),
            new Member(
                "127.10.0.8:9090",
                InetAddress.getByName("127.10.0.8"),
                9090,
                3,
                Member.State.READY,
                ""),
            new Member(
                "ip6-2001-db8--7.8080",
                InetAddress.getByName("2001:db8::7"),
                8080,
                1,
                Member.State.READY,
                "")),
        m);
  }

  @Test
  void members_hostnameOfTheEndpoint_idStaysIpPort() throws Exception {
    LbEndpoint e = endpoint("127.10.0.7", 8080);
    e =
        e.toBuilder()
            .setEndpoint(e.getEndpoint().toBuilder().setHostname("web-7.default.svc"))
            .build();
    assertEquals("127.10.0.7:8080", LoadAssignments.members(cla(group(e))).get(0).id());
  }

  @ParameterizedTest
  @CsvSource({
    "UNKNOWN, READY",
    "HEALTHY, READY",
    "DEGRADED, READY",
    "DRAINING, DRAINING",
    "UNHEALTHY, UNHEALTHY",
    "TIMEOUT, UNHEALTHY"
  })
  void members_healthStatus_mapsToState(HealthStatus status, Member.State state) throws Exception {
    assertEquals(
        state,
        LoadAssignments.members(cla(group(endpoint("127.10.0.7", 80, 0, status)))).get(0).state());
  }

  @Test
  void members_unknownHealthStatusNumber_refused() {
    LbEndpoint e = endpoint("127.10.0.7", 80).toBuilder().setHealthStatusValue(42).build();
    assertEquals(
        "endpoints[0].lb_endpoints[0].health_status: 42 (expected: UNKNOWN, HEALTHY, UNHEALTHY,"
            + " DRAINING, TIMEOUT or DEGRADED)",
        refusal(cla(group(e))));
  }

  @Test
  void members_locality_isTheZone_localityWeightNotApplied() throws Exception {
    LocalityLbEndpoints g =
        group(
                0,
                Locality.newBuilder()
                    .setRegion("eu-west1")
                    .setZone("eu-west1-b")
                    .setSubZone("rack7")
                    .build(),
                endpoint("127.10.0.7", 80, 2, HealthStatus.HEALTHY))
            .toBuilder()
            .setLoadBalancingWeight(UInt32Value.of(50))
            .build();
    LocalityLbEndpoints regionOnly =
        group(0, Locality.newBuilder().setRegion("eu-west1").build(), endpoint("127.10.0.8", 80));
    LocalityLbEndpoints zoneOnly =
        group(0, Locality.newBuilder().setZone("b").build(), endpoint("127.10.0.9", 80));
    List<Member> m = LoadAssignments.members(cla(g, regionOnly, zoneOnly));
    assertEquals("eu-west1/eu-west1-b/rack7", m.get(0).zone());
    assertEquals(2, m.get(0).weight());
    assertEquals("eu-west1", m.get(1).zone());
    assertEquals("/b", m.get(2).zone());
  }

  @Test
  void members_priorities_theFirstWithAReadyEndpoint() throws Exception {
    LocalityLbEndpoints p0 =
        group(
            0,
            Locality.getDefaultInstance(),
            endpoint("127.10.0.1", 80, 0, HealthStatus.UNHEALTHY),
            endpoint("127.10.0.2", 80, 0, HealthStatus.DRAINING));
    LocalityLbEndpoints p1 = group(1, Locality.getDefaultInstance(), endpoint("127.10.0.3", 80));
    LocalityLbEndpoints p2 = group(2, Locality.getDefaultInstance(), endpoint("127.10.0.4", 80));
    assertEquals(
        List.of("127.10.0.3:80"),
        LoadAssignments.members(cla(p2, p0, p1)).stream().map(Member::id).toList());
    LocalityLbEndpoints p0ok = group(0, Locality.getDefaultInstance(), endpoint("127.10.0.5", 80));
    assertEquals(
        List.of("127.10.0.1:80", "127.10.0.2:80", "127.10.0.5:80"),
        LoadAssignments.members(cla(p1, p0, p0ok)).stream().map(Member::id).toList());
    // none ready anywhere: the lowest priority, as it is
    LocalityLbEndpoints p1down =
        group(
            1, Locality.getDefaultInstance(), endpoint("127.10.0.3", 80, 0, HealthStatus.TIMEOUT));
    assertEquals(
        List.of("127.10.0.1:80", "127.10.0.2:80"),
        LoadAssignments.members(cla(p1down, p0)).stream().map(Member::id).toList());
  }

  @Test
  void members_noEndpoints_empty() throws Exception {
    assertEquals(List.of(), LoadAssignments.members(cla()));
    assertEquals(List.of(), LoadAssignments.members(cla(group())));
  }

  @Test
  void refusals_nameTheField() {
    assertEquals(
        "endpoints[1].lb_endpoints[0].endpoint.address.socket_address.address: 'web.internal'"
            + " (expected: an IP literal such as 192.0.2.7 or 2001:db8::7; lb4j never resolves"
            + " names)",
        refusal(cla(group(endpoint("127.10.0.7", 80)), group(endpoint("web.internal", 80)))));
    assertEquals(
        "endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value: 0 (expected:"
            + " 1-65535)",
        refusal(cla(group(endpoint("127.10.0.7", 0)))));
    assertEquals(
        "endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value: 70000"
            + " (expected: 1-65535)",
        refusal(cla(group(endpoint("127.10.0.7", 70000)))));
    assertEquals(
        "endpoints[0].lb_endpoints[0].load_balancing_weight: 70000 (expected: 1-65535)",
        refusal(cla(group(endpoint("127.10.0.7", 80, 70000, HealthStatus.HEALTHY)))));
    LbEndpoint zero =
        endpoint("127.10.0.7", 80).toBuilder().setLoadBalancingWeight(UInt32Value.of(0)).build();
    assertEquals(
        "endpoints[0].lb_endpoints[0].load_balancing_weight: 0 (expected: 1-65535)",
        refusal(cla(group(zero))));
    LbEndpoint huge =
        endpoint("127.10.0.7", 80).toBuilder().setLoadBalancingWeight(UInt32Value.of(-1)).build();
    assertEquals(
        "endpoints[0].lb_endpoints[0].load_balancing_weight: 4294967295 (expected: 1-65535)",
        refusal(cla(group(huge))));
  }

  @Test
  void refusals_addressShapesLb4jCannotUse() {
    LbEndpoint named =
        LbEndpoint.newBuilder()
            .setEndpoint(
                Endpoint.newBuilder()
                    .setAddress(
                        Address.newBuilder()
                            .setSocketAddress(
                                SocketAddress.newBuilder()
                                    .setAddress("127.10.0.7")
                                    .setNamedPort("http"))))
            .build();
    assertEquals(
        "endpoints[0].lb_endpoints[0].endpoint.address.socket_address.named_port: 'http'"
            + " (expected: a port_value, 1-65535)",
        refusal(cla(group(named))));
    LbEndpoint pipe =
        LbEndpoint.newBuilder()
            .setEndpoint(
                Endpoint.newBuilder()
                    .setAddress(Address.newBuilder().setPipe(Pipe.newBuilder().setPath("/s"))))
            .build();
    assertEquals(
        "endpoints[0].lb_endpoints[0].endpoint.address: pipe (expected: a socket_address)",
        refusal(cla(group(pipe))));
    LbEndpoint none = LbEndpoint.newBuilder().setEndpoint(Endpoint.getDefaultInstance()).build();
    assertEquals(
        "endpoints[0].lb_endpoints[0].endpoint.address: not set (expected: a socket_address)",
        refusal(cla(group(none))));
    LbEndpoint byName = LbEndpoint.newBuilder().setEndpointName("web-7").build();
    assertEquals(
        "endpoints[0].lb_endpoints[0].endpoint_name: 'web-7' (expected: an inline endpoint; named"
            + " endpoints are not supported)",
        refusal(cla(group(byName))));
    assertEquals(
        "endpoints[0].lb_endpoints[0].endpoint: not set (expected: an endpoint)",
        refusal(cla(group(LbEndpoint.getDefaultInstance()))));
  }

  @Test
  void refusals_sameAddressTwice() {
    assertEquals(
        "endpoints[1].lb_endpoints[0].endpoint.address: 127.10.0.7:80 is also at"
            + " endpoints[0].lb_endpoints[0] (expected: one endpoint per address and port)",
        refusal(cla(group(endpoint("127.10.0.7", 80)), group(endpoint("127.10.0.7", 80)))));
  }
}
