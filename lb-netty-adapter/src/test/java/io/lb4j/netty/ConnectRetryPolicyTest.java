package io.lb4j.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.lb4j.AdminState;
import io.lb4j.Backend;
import io.lb4j.BackendPool;
import io.lb4j.FlowKey;
import io.lb4j.Frontend;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancingRule;
import io.lb4j.Protocol;
import io.lb4j.Selection;
import io.lb4j.core.L4LoadBalancer;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
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

  @Test
  void maxAttempts_outOfRange_isRefusedWithTheRange() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> ConnectRetryPolicy.maxAttempts(0));
    assertEquals("maxAttempts: 0 (expected: 1-10)", e.getMessage());
    assertEquals(3, ConnectRetryPolicy.maxAttempts(3).maxAttempts());
  }
}
