package io.lb4j.xds;

import static io.lb4j.xds.XdsTestServer.assignment;
import static io.lb4j.xds.XdsTestServer.endpoint;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.lb4j.AdminState;
import io.lb4j.Backend;
import io.lb4j.BackendPool;
import io.lb4j.FlowKey;
import io.lb4j.Frontend;
import io.lb4j.HealthOverride;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancingRule;
import io.lb4j.Protocol;
import io.lb4j.Selection;
import io.lb4j.core.L4LoadBalancer;
import io.lb4j.discovery.Discovery;
import io.lb4j.discovery.DiscoveryOptions;
import io.lb4j.discovery.DiscoveryStatus;
import io.lb4j.discovery.Member;
import io.lb4j.discovery.MembershipSource;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The xDS source against a real management server (java-control-plane on 127.0.0.2), attached to a
 * real balancer: snapshot changes reach the pool, ACKs carry the version and nonce, a malformed
 * update is NACKed naming the field, a lost server keeps the last good set until it returns.
 */
class XdsMembershipSourceTest {
  static final Duration WAIT = Duration.ofSeconds(10);
  static final String CLA = EdsSubscription.CLA_TYPE_URL;

  private XdsTestServer server;
  private L4LoadBalancer lb;

  @BeforeEach
  void startServer() {
    server = new XdsTestServer("127.0.0.2");
  }

  @AfterEach
  void stop() throws InterruptedException {
    if (lb != null) {
      lb.close();
    }
    server.close();
  }

  static LoadBalancerConfig config() {
    return LoadBalancerConfig.builder()
        .frontend(Frontend.of("fe", "127.0.0.1"))
        .pool(BackendPool.of("web", Backend.of("seed", "127.0.0.3", 8080)))
        .rule(
            LoadBalancingRule.builder("http")
                .frontend("fe")
                .frontendPort(80)
                .backendPool("web")
                .backendPort(8080)
                .build())
        .build();
  }

  private Recorded attach(XdsMembershipSource.Mode mode) {
    lb = L4LoadBalancer.builder().config(config()).seed(7).build();
    Recorded source =
        new Recorded(
            XdsMembershipSource.builder(server.address(), "web")
                .mode(mode)
                .node("node-a")
                .backoff(Duration.ofMillis(50), Duration.ofMillis(500))
                .build());
    lb.attach("web", source, DiscoveryOptions.DEFAULT);
    return source;
  }

  private Map<String, Backend> pool() {
    Map<String, Backend> out = new HashMap<>();
    for (Backend b : lb.config().pool("web").backends()) {
      out.put(b.id(), b);
    }
    return out;
  }

  private DiscoveryStatus status() {
    return lb.discoveries().get(0);
  }

  static FlowKey flow(int i) {
    return FlowKey.ipv4(0x0a00_0000 | i, 1024 + (i % 60000), 0x7f00_0001, 80, Protocol.TCP);
  }

  /** Counts new flows per backend over {@code n} flows. */
  private Map<String, Integer> spread(int n) {
    Map<String, Integer> out = new HashMap<>();
    for (int i = 0; i < n; i++) {
      Selection s = lb.pick(flow(i));
      out.merge(s.isSelected() ? s.backend().id() : s.status().name(), 1, Integer::sum);
    }
    return out;
  }

  private static Set<String> ids(List<Member> members) {
    Set<String> out = new TreeSet<>();
    members.forEach(m -> out.add(m.id()));
    return out;
  }

  private DiscoveryResponse response(String version) throws InterruptedException {
    while (true) {
      DiscoveryResponse r = server.nextResponse(WAIT);
      if (r.getVersionInfo().equals(version)) {
        return r;
      }
    }
  }

  @ParameterizedTest
  @EnumSource(XdsMembershipSource.Mode.class)
  void snapshotChanges_addRemoveReweightDrain_reachThePool(XdsMembershipSource.Mode mode)
      throws InterruptedException {
    server.serve(
        "v1",
        assignment(
            "web",
            endpoint("127.0.0.11", 8080),
            endpoint("127.0.0.12", 8080),
            endpoint("127.0.0.13", 8080)),
        assignment("other", endpoint("127.0.0.99", 8080)));
    Recorded source = attach(mode);

    List<Member> first = source.nextMembers(WAIT);
    assertEquals(Set.of("127.0.0.11:8080", "127.0.0.12:8080", "127.0.0.13:8080"), ids(first));
    assertEquals(Set.of("127.0.0.11:8080", "127.0.0.12:8080", "127.0.0.13:8080"), pool().keySet());
    assertEquals(DiscoveryStatus.State.OK, status().state());
    assertEquals(
        "xds " + mode.name().toLowerCase() + " cluster 'web' from " + hostPort(),
        status().source());
    assertEquals(3, spread(3000).size(), "every member takes flows: " + spread(3000));

    // the ACK: the response's version and nonce, the cluster, the node, no error
    DiscoveryResponse v1 = response("v1");
    DiscoveryRequest ack = server.nextRequest(r -> r.getVersionInfo().equals("v1"), WAIT);
    assertEquals(v1.getNonce(), ack.getResponseNonce());
    assertFalse(ack.hasErrorDetail());
    assertEquals(List.of("web"), ack.getResourceNamesList());
    assertEquals(CLA, ack.getTypeUrl());
    assertEquals("node-a", ack.getNode().getId());

    // add
    server.serve(
        "v2",
        assignment(
            "web",
            endpoint("127.0.0.11", 8080),
            endpoint("127.0.0.12", 8080),
            endpoint("127.0.0.13", 8080),
            endpoint("127.0.0.14", 8080)));
    assertEquals(4, source.nextMembers(WAIT).size());
    assertEquals(4, pool().size());
    assertEquals(4, spread(4000).size());

    // remove
    server.serve(
        "v3",
        assignment(
            "web",
            endpoint("127.0.0.12", 8080),
            endpoint("127.0.0.13", 8080),
            endpoint("127.0.0.14", 8080)));
    source.nextMembers(WAIT);
    assertEquals(Set.of("127.0.0.12:8080", "127.0.0.13:8080", "127.0.0.14:8080"), pool().keySet());
    assertFalse(spread(3000).containsKey("127.0.0.11:8080"));

    // re-weight: 12 gets 5 of 7 shares
    server.serve(
        "v4",
        assignment(
            "web",
            endpoint("127.0.0.12", 8080, 5, HealthStatus.HEALTHY),
            endpoint("127.0.0.13", 8080),
            endpoint("127.0.0.14", 8080, 1, HealthStatus.UNKNOWN)));
    source.nextMembers(WAIT);
    assertEquals(5, pool().get("127.0.0.12:8080").weight());
    int heavy = spread(7000).get("127.0.0.12:8080");
    assertTrue(heavy > 4000 && heavy < 6000, "127.0.0.12 of weight 5 of 7 took " + heavy + "/7000");

    // drain 13, 14 unhealthy: new flows go to 12 only
    server.serve(
        "v5",
        assignment(
            "web",
            endpoint("127.0.0.12", 8080, 5, HealthStatus.HEALTHY),
            endpoint("127.0.0.13", 8080, 0, HealthStatus.DRAINING),
            endpoint("127.0.0.14", 8080, 0, HealthStatus.UNHEALTHY)));
    source.nextMembers(WAIT);
    assertEquals(AdminState.DRAINING, pool().get("127.0.0.13:8080").adminState());
    assertEquals(HealthOverride.FORCE_DOWN, pool().get("127.0.0.14:8080").healthOverride());
    assertEquals(Map.of("127.0.0.12:8080", 2000), spread(2000));
    assertEquals(5, status().answersApplied());
  }

  private String hostPort() {
    return "127.0.0.2:" + server.address().getPort();
  }

  @Test
  void malformedUpdate_isNackedNamingTheField_andTheSetIsKept() throws InterruptedException {
    server.serve("v1", assignment("web", endpoint("127.0.0.11", 8080)));
    Recorded source = attach(XdsMembershipSource.Mode.ADS);
    source.nextMembers(WAIT);
    server.nextRequest(r -> r.getVersionInfo().equals("v1"), WAIT);

    server.serve(
        "v2", assignment("web", endpoint("127.0.0.11", 8080), endpoint("web.internal", 8080)));
    String field = "endpoints[0].lb_endpoints[1].endpoint.address.socket_address.address";
    String failure = source.nextFailure(WAIT);
    assertTrue(failure.contains(field + ": 'web.internal' (expected: an IP literal"), failure);
    assertTrue(failure.contains("version 'v2' refused (NACK"), failure);

    DiscoveryResponse v2 = response("v2");
    DiscoveryRequest nack = server.nextRequest(DiscoveryRequest::hasErrorDetail, WAIT);
    assertEquals("v1", nack.getVersionInfo(), "a NACK carries the last accepted version");
    assertEquals(v2.getNonce(), nack.getResponseNonce());
    assertEquals(io.grpc.Status.Code.INVALID_ARGUMENT.value(), nack.getErrorDetail().getCode());
    assertTrue(
        nack.getErrorDetail()
            .getMessage()
            .startsWith("cluster 'web': " + field + ": 'web.internal'"),
        nack.getErrorDetail().getMessage());

    assertEquals(Set.of("127.0.0.11:8080"), pool().keySet());
    assertEquals(DiscoveryStatus.State.FAILING, status().state());
    assertTrue(status().lastProblem().contains(field), status().lastProblem());
    assertEquals(Map.of("127.0.0.11:8080", 100), spread(100));

    // the server fixes it: applied, ACKed
    server.serve(
        "v3", assignment("web", endpoint("127.0.0.11", 8080), endpoint("127.0.0.12", 8080)));
    assertEquals(2, source.nextMembers(WAIT).size());
    assertEquals(DiscoveryStatus.State.OK, status().state());
    DiscoveryRequest ack = server.nextRequest(r -> r.getVersionInfo().equals("v3"), WAIT);
    assertFalse(ack.hasErrorDetail());
  }

  @Test
  void serverStopsAndReturns_lastGoodSetKept_thenUpdatesResume() throws Exception {
    server.serve(
        "v1", assignment("web", endpoint("127.0.0.11", 8080), endpoint("127.0.0.12", 8080)));
    Recorded source = attach(XdsMembershipSource.Mode.ADS);
    source.nextMembers(WAIT);
    server.nextRequest(r -> r.getVersionInfo().equals("v1"), WAIT);

    server.stop();
    String failure = source.nextFailure(WAIT);
    assertTrue(failure.startsWith("stream to " + hostPort() + " lost: "), failure);
    assertTrue(failure.contains("reconnecting in"), failure);
    assertEquals(DiscoveryStatus.State.FAILING, status().state());
    assertEquals(Set.of("127.0.0.11:8080", "127.0.0.12:8080"), pool().keySet());
    assertEquals(2, spread(1000).size());
    assertTrue(lb.diagnose().toString().contains("DISCOVERY_FAILING"), lb.diagnose().toString());

    server.requests.clear();
    server.serve(
        "v2", assignment("web", endpoint("127.0.0.12", 8080), endpoint("127.0.0.13", 8080)));
    server.restart();
    assertEquals(Set.of("127.0.0.12:8080", "127.0.0.13:8080"), ids(source.nextMembers(WAIT)));
    assertEquals(Set.of("127.0.0.12:8080", "127.0.0.13:8080"), pool().keySet());
    assertEquals(DiscoveryStatus.State.OK, status().state());
    DiscoveryRequest resubscribe = server.nextRequest(r -> r.getResponseNonce().isEmpty(), WAIT);
    assertEquals("v1", resubscribe.getVersionInfo(), "the new stream starts from the last version");
  }

  @Test
  void close_endsTheStream_andNothingArrivesAfter() throws InterruptedException {
    server.serve("v1", assignment("web", endpoint("127.0.0.11", 8080)));
    lb = L4LoadBalancer.builder().config(config()).build();
    Recorded source = new Recorded(XdsMembershipSource.builder(server.address(), "web").build());
    Discovery d = lb.attach("web", source, DiscoveryOptions.DEFAULT);
    source.nextMembers(WAIT);
    d.close();
    assertTrue(server.streamsClosed.poll(WAIT.toNanos(), TimeUnit.NANOSECONDS) != null);
    server.serve("v2", assignment("web", endpoint("127.0.0.12", 8080)));
    assertNull(source.events.poll(300, TimeUnit.MILLISECONDS));
    assertEquals(Set.of("127.0.0.11:8080"), pool().keySet());
    MembershipSource.Listener none =
        new MembershipSource.Listener() {
          @Override
          public void onMembers(List<Member> members) {}

          @Override
          public void onFailure(String reason) {}
        };
    IllegalStateException again =
        assertThrows(IllegalStateException.class, () -> source.delegate.start(none));
    assertTrue(again.getMessage().contains("closed (expected: start once)"), again.getMessage());
  }
}
