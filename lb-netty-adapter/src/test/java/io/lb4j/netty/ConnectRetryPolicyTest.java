package io.lb4j.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lb4j.AdminState;
import io.lb4j.Backend;
import io.lb4j.BackendPool;
import io.lb4j.FlowKey;
import io.lb4j.Frontend;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancingRule;
import io.lb4j.OutlierDetection;
import io.lb4j.Protocol;
import io.lb4j.Selection;
import io.lb4j.SelectionAlgorithm;
import io.lb4j.SelectionPolicy;
import io.lb4j.core.L4LoadBalancer;
import io.lb4j.testing.FakeClock;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@link ConnectRetryPolicy} against a real balancer (no sockets: selection only). */
class ConnectRetryPolicyTest {
  private final L4LoadBalancer lb = balancer(3);
  private final FlowKey flow =
      FlowKey.of(
          Protocol.TCP,
          new InetSocketAddress("127.0.0.50", 40000),
          new InetSocketAddress("127.0.0.1", 80));

  @AfterEach
  void close() {
    lb.close();
  }

  private static L4LoadBalancer balancer(int backends) {
    List<Backend> list = new ArrayList<>();
    for (int i = 0; i < backends; i++) {
      list.add(Backend.of("web-" + i, "127.0.0." + (2 + i), 8080));
    }
    return L4LoadBalancer.builder()
        .config(
            LoadBalancerConfig.builder()
                .frontend(Frontend.of("fe", "127.0.0.1"))
                .pool(new BackendPool("web", list))
                .rule(
                    LoadBalancingRule.builder("app")
                        .frontend("fe")
                        .frontendPort(80)
                        .backendPool("web")
                        .build())
                .build())
        .build();
  }

  @Test
  void next_afterEachFailure_namesABackendNotTriedYet() {
    ConnectRetryPolicy policy = ConnectRetryPolicy.maxAttempts(3);
    String[] tried = new String[3];
    tried[0] = lb.select(flow).backend().id();
    Selection second = policy.next(lb, flow, 1, tried);
    assertNotNull(second);
    assertNotEquals(tried[0], second.backend().id());
    tried[1] = second.backend().id();
    Selection third = policy.next(lb, flow, 2, tried);
    assertNotNull(third);
    assertNotEquals(tried[0], third.backend().id());
    assertNotEquals(tried[1], third.backend().id());
  }

  @Test
  void next_atMaxAttempts_givesUp() {
    ConnectRetryPolicy policy = ConnectRetryPolicy.maxAttempts(2);
    String[] tried = {"web-0", "web-1"};
    assertNull(policy.next(lb, flow, 2, tried));
    assertNull(ConnectRetryPolicy.maxAttempts(1).next(lb, flow, 1, new String[] {"web-0"}));
  }

  @Test
  void next_everyBackendTried_givesUp() {
    ConnectRetryPolicy policy = ConnectRetryPolicy.maxAttempts(10);
    assertNull(policy.next(lb, flow, 3, new String[] {"web-0", "web-1", "web-2", null}));
  }

  @Test
  void next_balancerSelectsNothing_givesUp() {
    for (int i = 0; i < 3; i++) {
      lb.setAdminState("web", "web-" + i, AdminState.DISABLED);
    }
    assertNull(ConnectRetryPolicy.maxAttempts(3).next(lb, flow, 1, new String[] {"web-0"}));
  }

  /**
   * Four backends, at most two ejected (50%); web-0 and web-1 are ejected, so the ejection cap is
   * reached, and web-2 and web-3, the whole rotation, have refused this connection: the ejected
   * backends are the candidates left, and the retry goes to one of them instead of closing.
   */
  @Test
  void next_rotationTriedAndEjectionCapReached_fallsBackToAnEjectedBackend() {
    FakeClock clock = new FakeClock();
    try (L4LoadBalancer capped = ejecting(clock, 4)) {
      for (String id : new String[] {"web-0", "web-1", "web-2"}) {
        capped.reportConnectFailure("app", id);
        clock.runDueTasks();
      }
      assertTrue(capped.health("app", "web-0").isEjected(), "web-0");
      assertTrue(capped.health("app", "web-1").isEjected(), "web-1");
      assertFalse(capped.health("app", "web-2").isEjected(), "web-2: the cap is reached");
      ConnectRetryPolicy policy = ConnectRetryPolicy.maxAttempts(3);
      String[] tried = {"web-2", "web-3", null};
      Selection third = policy.next(capped, flow, 2, tried);
      assertNotNull(third, "attempt 3 with web-0 and web-1 untried");
      assertTrue(Set.of("web-0", "web-1").contains(third.backend().id()), third.backend().id());
      assertEquals(third.backend().id(), capped.select(flow).backend().id(), "flow pinned");
    }
  }

  /**
   * Only web-3 is in rotation (the others ejected, no ejection cap); it refused: every draw of the
   * selector names it, yet three untried backends are left.
   */
  @Test
  void next_onlyTriedBackendInRotation_triesTheEjectedOnes() {
    FakeClock clock = new FakeClock();
    try (L4LoadBalancer lb3 = ejecting(clock, 4, 100)) {
      for (int i = 0; i < 3; i++) {
        lb3.reportConnectFailure("app", "web-" + i);
        clock.runDueTasks();
      }
      assertEquals("web-3", lb3.select(flow).backend().id());
      ConnectRetryPolicy policy = ConnectRetryPolicy.maxAttempts(10);
      String[] tried = new String[10];
      tried[0] = "web-3";
      Set<String> seen = new HashSet<>();
      for (int attempt = 1; attempt < 4; attempt++) {
        Selection s = policy.next(lb3, flow, attempt, tried);
        assertNotNull(s, "attempt " + (attempt + 1) + " after " + Arrays.toString(tried));
        tried[attempt] = s.backend().id();
        assertTrue(seen.add(s.backend().id()), "tried twice: " + Arrays.toString(tried));
      }
      assertEquals(Set.of("web-0", "web-1", "web-2"), seen);
      assertNull(policy.next(lb3, flow, 4, tried), "every backend tried");
    }
  }

  private static L4LoadBalancer ejecting(FakeClock clock, int backends) {
    return ejecting(clock, backends, 50);
  }

  /** Backends without a probe; one connect failure ejects, at most {@code percent} of them. */
  private static L4LoadBalancer ejecting(FakeClock clock, int backends, int percent) {
    List<Backend> list = new ArrayList<>();
    for (int i = 0; i < backends; i++) {
      list.add(Backend.of("web-" + i, "127.0.0." + (2 + i), 8080));
    }
    return L4LoadBalancer.builder()
        .config(
            LoadBalancerConfig.builder()
                .frontend(Frontend.of("fe", "127.0.0.1"))
                .pool(new BackendPool("web", list))
                .rule(
                    LoadBalancingRule.builder("app")
                        .frontend("fe")
                        .frontendPort(80)
                        .backendPool("web")
                        .selection(SelectionPolicy.of(SelectionAlgorithm.ROUND_ROBIN))
                        .outlierDetection(
                            new OutlierDetection(
                                1, Duration.ofSeconds(30), Duration.ofSeconds(300), percent))
                        .build())
                .build())
        .ticker(clock)
        .clock(clock)
        .probeScheduler(clock)
        .maintenanceScheduler(clock)
        .build();
  }

  @Test
  void maxAttempts_outOfRange_isRefusedWithTheRange() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> ConnectRetryPolicy.maxAttempts(0));
    assertEquals("maxAttempts: 0 (expected: 1-10)", e.getMessage());
    assertEquals(3, ConnectRetryPolicy.maxAttempts(3).maxAttempts());
  }
}
