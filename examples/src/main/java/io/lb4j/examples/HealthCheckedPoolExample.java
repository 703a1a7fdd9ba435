package io.lb4j.examples;

import io.lb4j.Backend;
import io.lb4j.BackendPool;
import io.lb4j.Frontend;
import io.lb4j.HealthEvent;
import io.lb4j.HealthProbe;
import io.lb4j.HealthState;
import io.lb4j.IpLiteral;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancerListener;
import io.lb4j.LoadBalancingRule;
import io.lb4j.connect.BalancedConnector;
import io.lb4j.connect.LeasedSocket;
import io.lb4j.core.L4LoadBalancer;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Two real TCP backends on 127.0.0.2 and 127.0.0.3, probed every second, reached through a {@link
 * BalancedConnector}; one of them dies and the balancer takes it out of rotation, saying why.
 */
public final class HealthCheckedPoolExample {
  public static void main(String[] args) throws Exception {
    ServerSocket one = listen("127.0.0.2");
    ServerSocket two = listen("127.0.0.3");
    LoadBalancerConfig config =
        LoadBalancerConfig.builder()
            .frontend(Frontend.of("web", "127.0.0.1"))
            .pool(
                BackendPool.of(
                    "web",
                    Backend.of("web-1", "127.0.0.2", one.getLocalPort()),
                    Backend.of("web-2", "127.0.0.3", two.getLocalPort())))
            .probe(
                HealthProbe.builder("tcp")
                    .interval(Duration.ofSeconds(1))
                    .timeout(Duration.ofMillis(500))
                    .unhealthyThreshold(2)
                    .build())
            .rule(
                LoadBalancingRule.builder("app")
                    .frontend("web")
                    .frontendPort(8080)
                    .backendPool("web")
                    .probe("tcp")
                    .build())
            .build();
    BlockingQueue<HealthEvent> events = new LinkedBlockingQueue<>();
    try (L4LoadBalancer lb = L4LoadBalancer.builder().config(config).build()) {
      lb.addListener(
          new LoadBalancerListener() {
            @Override
            public void onHealthChange(HealthEvent event) {
              System.out.println("event: " + event);
              events.add(event);
            }
          });
      awaitState(events, HealthState.HEALTHY, 2);
      printPicks(lb);

      System.out.println("stopping web-2 ...");
      two.close();
      System.out.println("before its probe fails, refused connects to web-2 are retried on web-1:");
      printPicks(lb);
      awaitState(events, HealthState.UNHEALTHY, 1);
      printPicks(lb);
      System.out.println("web-2 health: " + lb.health("app", "web-2").lastResult());
    } finally {
      one.close();
    }
  }

  /** Opens and closes eight real connections through the connector, printing each backend. */
  private static void printPicks(L4LoadBalancer lb) throws IOException {
    BalancedConnector connector = BalancedConnector.builder(lb, "app").build();
    StringBuilder sb = new StringBuilder("new connections go to:");
    for (int i = 0; i < 8; i++) {
      try (LeasedSocket s = connector.connect()) {
        sb.append(' ').append(s.lease().backend().id());
      }
    }
    System.out.println(sb);
  }

  private static void awaitState(BlockingQueue<HealthEvent> events, HealthState state, int count)
      throws InterruptedException {
    for (int seen = 0; seen < count; ) {
      HealthEvent e = events.poll(10, TimeUnit.SECONDS);
      if (e == null) {
        throw new IllegalStateException("no health event within 10 s");
      }
      seen += e.to() == state ? 1 : 0;
    }
  }

  /** A backend that accepts connections and closes them, on its own daemon thread. */
  private static ServerSocket listen(String address) throws IOException {
    ServerSocket ss = new ServerSocket(0, 50, IpLiteral.parse(address)); // a literal, never a name
    Thread t =
        new Thread(
            () -> {
              while (!ss.isClosed()) {
                try (Socket s = ss.accept()) {
                  s.getInputStream().read();
                } catch (IOException e) {
                  // closed: the example stops this backend on purpose
                }
              }
            },
            "backend-" + address);
    t.setDaemon(true);
    t.start();
    return ss;
  }
}
