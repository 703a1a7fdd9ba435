package io.lb4j.examples;

import io.lb4j.AdminState;
import io.lb4j.Backend;
import io.lb4j.BackendPool;
import io.lb4j.FlowKey;
import io.lb4j.Frontend;
import io.lb4j.LoadBalancer;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancingRule;
import io.lb4j.Protocol;
import io.lb4j.Selection;
import io.lb4j.core.L4LoadBalancer;
import java.net.InetSocketAddress;

/** The library in a service: pick a backend per flow, change the pool, keep established flows. */
public final class EmbeddedSelectionExample {
  public static void main(String[] args) {
    LoadBalancerConfig config =
        LoadBalancerConfig.builder()
            .frontend(Frontend.of("web", "127.0.0.1"))
            .pool(
                BackendPool.of(
                    "web",
                    Backend.of("web-1", "127.0.0.2"),
                    Backend.of("web-2", "127.0.0.3"),
                    Backend.of("web-3", "127.0.0.4").withWeight(2)))
            .rule(
                LoadBalancingRule.builder("http")
                    .frontend("web")
                    .frontendPort(80)
                    .backendPool("web")
                    .backendPort(8080)
                    .build())
            .build();
    try (LoadBalancer lb = L4LoadBalancer.builder().config(config).build()) {
      FlowKey flow =
          FlowKey.of(
              Protocol.TCP,
              new InetSocketAddress("127.0.0.9", 40000),
              new InetSocketAddress("127.0.0.1", 80));
      Selection first = lb.select(flow);
      System.out.println("new flow         " + flow + "  =>  " + first);

      // Take the chosen backend out: it drains, the established flow stays where it is.
      lb.setAdminState("web", first.backend().id(), AdminState.DRAINING);
      System.out.println("after draining   " + lb.select(flow));
      FlowKey next =
          FlowKey.of(
              Protocol.TCP,
              new InetSocketAddress("127.0.0.9", 40001),
              new InetSocketAddress("127.0.0.1", 80));
      System.out.println("another flow     " + next + "  =>  " + lb.select(next));

      lb.flowClosed(flow);
      System.out.println("flow closed; active flows: " + lb.activeFlows());

      // Nothing listens on port 81: the answer says so instead of returning null.
      FlowKey stray =
          FlowKey.of(
              Protocol.TCP,
              new InetSocketAddress("127.0.0.9", 40002),
              new InetSocketAddress("127.0.0.1", 81));
      System.out.println("stray flow       " + lb.select(stray));
    }
  }
}
