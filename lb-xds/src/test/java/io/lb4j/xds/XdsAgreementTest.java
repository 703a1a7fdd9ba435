package io.lb4j.xds;

import static io.lb4j.xds.XdsTestServer.assignment;
import static io.lb4j.xds.XdsTestServer.endpoint;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.lb4j.Selection;
import io.lb4j.core.L4LoadBalancer;
import io.lb4j.discovery.DiscoveryOptions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Many instances that agree: two balancers with the same seed, each with its own xDS subscription
 * (its own node id) to the same management server, pick the same backend for every one of 10,000
 * flows and report the same selection fingerprint, before and after a membership change.
 */
class XdsAgreementTest {
  static final Duration WAIT = Duration.ofSeconds(10);
  static final int FLOWS = 10_000;

  private final XdsTestServer server = new XdsTestServer("127.0.0.4");
  private final List<L4LoadBalancer> balancers = new ArrayList<>();

  @AfterEach
  void stop() {
    balancers.forEach(L4LoadBalancer::close);
    server.close();
  }

  private Recorded instance(String node, long seed) {
    L4LoadBalancer lb =
        L4LoadBalancer.builder().config(XdsMembershipSourceTest.config()).seed(seed).build();
    balancers.add(lb);
    Recorded source =
        new Recorded(XdsMembershipSource.builder(server.address(), "web").node(node).build());
    lb.attach("web", source, DiscoveryOptions.DEFAULT);
    return source;
  }

  /** Returns the backend each of the flows would go to. */
  private static List<String> choices(L4LoadBalancer lb) {
    List<String> out = new ArrayList<>(FLOWS);
    for (int i = 0; i < FLOWS; i++) {
      Selection s = lb.pick(XdsMembershipSourceTest.flow(i));
      assertTrue(s.isSelected(), s.toString());
      out.add(s.backend().id());
    }
    return out;
  }

  @Test
  void twoInstances_sameSeedSameServer_sameBackendForEveryFlow_beforeAndAfterAChange()
      throws InterruptedException {
    server.serve(
        "v1",
        assignment(
            "web",
            endpoint("127.0.0.11", 8080),
            endpoint("127.0.0.12", 8080, 2, HealthStatus.HEALTHY),
            endpoint("127.0.0.13", 8080),
            endpoint("127.0.0.14", 8080)));
    Recorded a = instance("edge-a", 42);
    Recorded b = instance("edge-b", 42);
    a.nextMembers(WAIT);
    b.nextMembers(WAIT);
    L4LoadBalancer lbA = balancers.get(0);
    L4LoadBalancer lbB = balancers.get(1);

    List<String> before = choices(lbA);
    assertEquals(before, choices(lbB));
    assertEquals(4, new HashSet<>(before).size());
    String fingerprint = lbA.selectionFingerprint("http");
    assertEquals(fingerprint, lbB.selectionFingerprint("http"));

    // a change: 11 leaves, 15 joins, 13 re-weighted, 14 drains
    server.serve(
        "v2",
        assignment(
            "web",
            endpoint("127.0.0.12", 8080, 2, HealthStatus.HEALTHY),
            endpoint("127.0.0.13", 8080, 3, HealthStatus.HEALTHY),
            endpoint("127.0.0.14", 8080, 0, HealthStatus.DRAINING),
            endpoint("127.0.0.15", 8080)));
    a.nextMembers(WAIT);
    b.nextMembers(WAIT);
    List<String> after = choices(lbA);
    assertEquals(after, choices(lbB));
    assertEquals(
        Set.of("127.0.0.12:8080", "127.0.0.13:8080", "127.0.0.15:8080"), Set.copyOf(after));
    String changed = lbA.selectionFingerprint("http");
    assertEquals(changed, lbB.selectionFingerprint("http"));
    assertNotEquals(fingerprint, changed);

    // another seed: another table, and the fingerprint says so
    Recorded c = instance("edge-c", 43);
    c.nextMembers(WAIT);
    assertNotEquals(changed, balancers.get(2).selectionFingerprint("http"));
  }
}
