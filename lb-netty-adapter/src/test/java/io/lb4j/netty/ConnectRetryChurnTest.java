package io.lb4j.netty;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lb4j.Backend;
import io.lb4j.BackendPool;
import io.lb4j.Frontend;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancingRule;
import io.lb4j.OutlierDetection;
import io.lb4j.SelectionAlgorithm;
import io.lb4j.SelectionPolicy;
import io.lb4j.core.L4LoadBalancer;
import io.lb4j.testing.FakeClock;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Backend churn under concurrent connects, with passive health ejecting and its cap reached: real
 * sockets on 127.0.0.2-6 for the backends and the connects, a {@link FakeClock} for the balancer,
 * so ejections happen when the test runs the control tasks and never end on their own (an ejection
 * that outlives its cause, as a 30 s ejection outlives a 5 s restart).
 */
class ConnectRetryChurnTest {
  private static final int BACKENDS = 5;
  private static final int CLIENTS_PER_PHASE = 160;
  private static final int CLIENT_THREADS = 8;
  private static final int TIMEOUT_MS = 10_000;

  private final FakeClock clock = new FakeClock();
  private final List<TestServer> servers = new ArrayList<>();
  private final int[] ports = new int[BACKENDS];
  private L4LoadBalancer lb;
  private NettyL4Proxy proxy;
  private InetSocketAddress frontend;
  private ExecutorService clients;

  @AfterAll
  static void noLeaks() {
    assertEquals(List.of(), LeakRecorder.collect(), "Netty reported leaked buffers");
  }

  @BeforeEach
  void start() throws IOException {
    List<Backend> list = new ArrayList<>();
    for (int i = 0; i < BACKENDS; i++) {
      TestServer s = new TestServer("web-" + i, host(i), TestServer.Mode.GREET_THEN_ECHO);
      servers.add(s);
      ports[i] = s.address.getPort();
      list.add(Backend.of(s.id, host(i), ports[i]));
    }
    int port = TestServer.freePort("127.0.0.1");
    frontend = new InetSocketAddress("127.0.0.1", port);
    lb =
        L4LoadBalancer.builder()
            .config(
                LoadBalancerConfig.builder()
                    .frontend(Frontend.of("fe", "127.0.0.1"))
                    .pool(new BackendPool("web", list))
                    .rule(
                        LoadBalancingRule.builder("app")
                            .frontend("fe")
                            .frontendPort(port)
                            .backendPool("web")
                            .selection(SelectionPolicy.of(SelectionAlgorithm.ROUND_ROBIN))
                            // 3 of 5 may be ejected; two failures in a row eject
                            .outlierDetection(
                                new OutlierDetection(
                                    2, Duration.ofSeconds(30), Duration.ofSeconds(300), 60))
                            .build())
                    .build())
            .ticker(clock)
            .clock(clock)
            .probeScheduler(clock)
            .maintenanceScheduler(clock)
            .build();
    proxy =
        NettyL4Proxy.builder()
            .loadBalancer(lb)
            .ioThreads(2)
            .ruleOptions("app", RuleOptions.DEFAULT) // 3 connect attempts, as HAProxy's retries 2
            .build()
            .start();
    clients = Executors.newFixedThreadPool(CLIENT_THREADS);
  }

  @AfterEach
  void stop() throws Exception {
    clients.shutdownNow();
    assertTrue(clients.awaitTermination(10, TimeUnit.SECONDS), "client threads ended");
    proxy.close();
    lb.close();
    for (TestServer s : servers) {
      if (s != null) {
        s.close();
      }
    }
  }

  private static String host(int i) {
    return "127.0.0." + (2 + i);
  }

  private void kill(int i) throws IOException {
    servers.get(i).kill();
  }

  private void restart(int i) throws IOException {
    servers.set(i, new TestServer("web-" + i, host(i), ports[i], TestServer.Mode.GREET_THEN_ECHO));
  }

  /**
   * Runs {@code CLIENTS_PER_PHASE} short connections (connect, read the greeting, echo, close) from
   * {@code CLIENT_THREADS} threads at once; returns the failures by description.
   */
  private Map<String, Integer> phase(String name) throws Exception {
    Map<String, Integer> failures = new ConcurrentHashMap<>();
    List<Future<?>> done = new ArrayList<>();
    for (int t = 0; t < CLIENT_THREADS; t++) {
      int thread = t;
      done.add(
          clients.submit(
              () -> {
                for (int i = thread; i < CLIENTS_PER_PHASE; i += CLIENT_THREADS) {
                  String failure = shortConnection(i);
                  if (failure != null) {
                    failures.merge(name + ": " + failure, 1, Integer::sum);
                  }
                }
              }));
    }
    for (Future<?> f : done) {
      f.get(60, TimeUnit.SECONDS);
    }
    clock.runDueTasks(); // the ejection decisions of the phase's failures
    return failures;
  }

  private String shortConnection(int i) {
    try (Socket s = new Socket()) {
      s.bind(new InetSocketAddress(InetAddress.getByName("127.0.0." + (100 + i % 100)), 0));
      s.setSoTimeout(TIMEOUT_MS);
      s.connect(frontend, TIMEOUT_MS);
      String id = TestServer.readLine(s.getInputStream());
      if (!id.startsWith("web-")) {
        return "closed before the greeting";
      }
      s.getOutputStream().write("ping\n".getBytes(US_ASCII));
      String back = TestServer.readLine(s.getInputStream());
      return back.equals("ping") ? null : "echo '" + back + "' from " + id;
    } catch (IOException e) {
      return e.toString();
    }
  }

  @Test
  void churn_ejectionCapReached_noConnectionClosedWhileAnUntriedCandidateIsLeft() throws Exception {
    // at most two of five down at a time, as in the churn run: any three backends include a live
    // one
    Map<String, Integer> failures = new ConcurrentHashMap<>(phase("all up"));
    kill(0);
    kill(1);
    failures.putAll(phase("web-0 and web-1 down"));
    restart(0);
    restart(1);
    kill(2);
    failures.putAll(phase("web-2 down, web-0 and web-1 back but ejected"));
    for (int i = 0; i < 3; i++) {
      assertTrue(lb.health("app", "web-" + i).isEjected(), "web-" + i + " ejected");
    }
    // web-3 and web-4, the whole rotation, go down and the ejection cap (3 of 5) keeps them in it:
    // only the ejected backends, all alive, can take a connection
    restart(2);
    kill(3);
    kill(4);
    failures.putAll(phase("web-3 and web-4 down, web-0..2 back but ejected"));
    assertFalse(lb.health("app", "web-3").isEjected(), "the cap keeps web-3 in rotation");
    assertFalse(lb.health("app", "web-4").isEjected(), "the cap keeps web-4 in rotation");
    restart(3);
    kill(0);
    failures.putAll(phase("web-0 and web-4 down, web-3 back"));
    restart(4);
    restart(0);
    failures.putAll(phase("all back"));
    assertEquals(Map.of(), failures, "failed short connections per phase");
    assertEquals(6L * CLIENTS_PER_PHASE, proxy.ruleCounters("app").totalConnections());
  }
}
