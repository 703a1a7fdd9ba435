package io.lb4j.connect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lb4j.AdminState;
import io.lb4j.Backend;
import io.lb4j.BackendPool;
import io.lb4j.FlowKey;
import io.lb4j.Frontend;
import io.lb4j.HealthState;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancingRule;
import io.lb4j.OutlierDetection;
import io.lb4j.SelectionPolicy;
import io.lb4j.core.L4LoadBalancer;
import io.lb4j.testing.FakeClock;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The blocking connector against real loopback servers: live, refusing and black-holed. */
class BalancedConnectorTest {
  private final List<AutoCloseable> open = new ArrayList<>();
  private final FakeClock clock = new FakeClock();
  private L4LoadBalancer lb;

  @AfterEach
  void closeAll() throws Exception {
    if (lb != null) {
      lb.close();
    }
    for (int i = open.size() - 1; i >= 0; i--) {
      open.get(i).close();
    }
  }

  /** A server that greets each connection with its name, then waits for the client's close. */
  private int greeter(String host, String name) throws IOException {
    ServerSocket server = new ServerSocket();
    server.bind(new InetSocketAddress(host, 0));
    open.add(server);
    Thread t =
        new Thread(
            () -> {
              while (!server.isClosed()) {
                try {
                  Socket s = server.accept();
                  open.add(s);
                  s.getOutputStream().write((name + "\n").getBytes(StandardCharsets.US_ASCII));
                } catch (IOException e) {
                  return;
                }
              }
            },
            "greeter-" + name);
    t.setDaemon(true);
    t.start();
    return server.getLocalPort();
  }

  /** A port on {@code host} where nothing listens: connects are refused. */
  private static int refusing(String host) throws IOException {
    try (ServerSocket s = new ServerSocket()) {
      s.bind(new InetSocketAddress(host, 0));
      return s.getLocalPort();
    }
  }

  /**
   * A listener whose accept queue is full and never drained: further SYNs are dropped, so a connect
   * times out (a black hole).
   */
  private int blackHole(String host) throws IOException {
    ServerSocket server = new ServerSocket();
    server.bind(new InetSocketAddress(host, 0), 1);
    open.add(server);
    InetSocketAddress at = new InetSocketAddress(host, server.getLocalPort());
    for (int i = 0; i < 8; i++) { // bounded: fill the queue (backlog + 1 on Linux) and some SYNs
      Socket filler = new Socket();
      open.add(filler);
      try {
        filler.connect(at, 200);
      } catch (IOException full) {
        break; // the queue is full: the next connect is dropped, as wanted
      }
    }
    return server.getLocalPort();
  }

  private L4LoadBalancer balancer(OutlierDetection od, Backend... backends) {
    LoadBalancerConfig config =
        LoadBalancerConfig.builder()
            .frontend(Frontend.of("svc", "127.0.0.1"))
            .pool(BackendPool.of("app", backends))
            .rule(
                LoadBalancingRule.builder("app")
                    .frontend("svc")
                    .frontendPort(7000)
                    .backendPool("app")
                    .backendPort(7000)
                    .selection(SelectionPolicy.maglev())
                    .outlierDetection(od)
                    .build())
            .build();
    lb =
        L4LoadBalancer.builder()
            .config(config)
            .probeScheduler(clock)
            .leaseLeakDetection(L4LoadBalancer.LeakDetection.PARANOID)
            .build();
    return lb;
  }

  private static String greeting(Socket s) throws IOException {
    s.setSoTimeout(5000);
    return new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII))
        .readLine();
  }

  @Test
  void connect_byKey_landsOnTheKeysBackend_andClosingReleasesTheLease() throws IOException {
    balancer(
        OutlierDetection.DEFAULT,
        Backend.of("a", "127.0.0.2", greeter("127.0.0.2", "a")),
        Backend.of("b", "127.0.0.3", greeter("127.0.0.3", "b")),
        Backend.of("c", "127.0.0.4", greeter("127.0.0.4", "c")));
    BalancedConnector c = BalancedConnector.builder(lb, "app").build();
    for (String key : List.of("tenant-1", "tenant-2", "tenant-3", "tenant-4")) {
      String expected = lb.pickByKey("app", key).backend().id();
      try (LeasedSocket s = c.connect(key)) {
        assertEquals(expected, greeting(s), key);
        assertEquals(expected, s.lease().backend().id());
        assertEquals(1, lb.activeFlows("app", expected));
        assertTrue(s.isConnected());
      }
      assertEquals(0, lb.activeFlows("app", expected), "closing the socket ends the lease");
    }
  }

  @Test
  void connect_refusingBackend_retriesAnother_andPassiveHealthEjectsIt() throws IOException {
    int refused = refusing("127.0.0.2");
    balancer(
        new OutlierDetection(2, Duration.ofSeconds(30), Duration.ofSeconds(300), 50),
        Backend.of("down", "127.0.0.2", refused),
        Backend.of("b", "127.0.0.3", greeter("127.0.0.3", "b")),
        Backend.of("c", "127.0.0.4", greeter("127.0.0.4", "c")));
    BalancedConnector c = BalancedConnector.builder(lb, "app").build();
    List<String> keysOnDown = new ArrayList<>();
    for (int k = 0; keysOnDown.size() < 2 && k < 1000; k++) {
      if (lb.pickByKey("app", "k" + k).backend().id().equals("down")) {
        keysOnDown.add("k" + k);
      }
    }
    assertEquals(2, keysOnDown.size());
    for (String key : keysOnDown) {
      try (LeasedSocket s = c.connect(key)) {
        String got = greeting(s);
        assertNotEquals("down", got, "retried on another backend");
        assertEquals(got, s.lease().backend().id());
      }
    }
    clock.runDueTasks(); // the control thread takes the ejection
    assertEquals(HealthState.UNHEALTHY, lb.health("app", "down").state());
    assertTrue(lb.health("app", "down").ejectedUntil() != null, "ejected after 2 failures");
    assertNotEquals("down", lb.pickByKey("app", keysOnDown.get(0)).backend().id());
  }

  @Test
  void connect_blackHoledBackend_timesOutAndRetries() throws IOException {
    int hole = blackHole("127.0.0.2");
    balancer(
        OutlierDetection.DEFAULT,
        Backend.of("hole", "127.0.0.2", hole),
        Backend.of("b", "127.0.0.3", greeter("127.0.0.3", "b")));
    BalancedConnector c =
        BalancedConnector.builder(lb, "app").connectTimeout(Duration.ofMillis(300)).build();
    String key = null;
    for (int k = 0; key == null && k < 1000; k++) {
      if (lb.pickByKey("app", "k" + k).backend().id().equals("hole")) {
        key = "k" + k;
      }
    }
    long start = System.nanoTime();
    try (LeasedSocket s = c.connect(key)) {
      assertEquals("b", greeting(s));
    }
    long tookMillis = (System.nanoTime() - start) / 1_000_000;
    assertTrue(tookMillis >= 250, "the first attempt waited for its timeout: " + tookMillis);
    assertEquals(1, lb.health("app", "hole").consecutiveConnectFailures());
  }

  @Test
  void connect_everyBackendFails_namesEachAttempt() throws IOException {
    balancer(
        OutlierDetection.DISABLED,
        Backend.of("a", "127.0.0.2", refusing("127.0.0.2")),
        Backend.of("b", "127.0.0.3", refusing("127.0.0.3")));
    BalancedConnector c = BalancedConnector.builder(lb, "app").maxAttempts(3).build();
    ConnectException e = assertThrows(ConnectException.class, () -> c.connect("x"));
    String m = e.getMessage();
    assertTrue(m.startsWith("app: no backend left to try after 2 attempts; "), m);
    assertTrue(m.contains("a 127.0.0.2:") && m.contains("b 127.0.0.3:"), m);
    assertTrue(m.contains("ConnectException"), m);
    assertEquals(0, lb.activeFlows("app", "a") + lb.activeFlows("app", "b"));
  }

  @Test
  void connect_noBackendAvailable_saysWhy() throws IOException {
    balancer(OutlierDetection.DEFAULT, Backend.of("a", "127.0.0.2", greeter("127.0.0.2", "a")));
    lb.setAdminState("app", "a", AdminState.DRAINING);
    BalancedConnector c = BalancedConnector.builder(lb, "app").build();
    ConnectException e = assertThrows(ConnectException.class, c::connect);
    assertTrue(e.getMessage().startsWith("app: "), e.getMessage());
    assertTrue(e.getMessage().contains("draining"), e.getMessage());
  }

  @Test
  void backendDisabled_closesTheSocket() throws IOException {
    balancer(OutlierDetection.DEFAULT, Backend.of("a", "127.0.0.2", greeter("127.0.0.2", "a")));
    BalancedConnector c = BalancedConnector.builder(lb, "app").build();
    LeasedSocket s = c.connect();
    assertEquals("a", greeting(s));
    lb.setAdminState("app", "a", AdminState.DISABLED);
    assertTrue(s.isClosed());
    assertEquals("backend DISABLED", s.endReason());
    assertThrows(SocketException.class, () -> s.getInputStream().read());
    assertEquals(0, lb.activeFlows("app", "a"));
  }

  @Test
  void unconnectedSocket_keepsOptionsForTheConnect_andIgnoresTheDriversAddress()
      throws IOException {
    balancer(OutlierDetection.DEFAULT, Backend.of("a", "127.0.0.2", greeter("127.0.0.2", "a")));
    BalancedConnector c = BalancedConnector.builder(lb, "app").build();
    try (LeasedSocket s = c.unconnectedSocket("k")) {
      assertFalse(s.isConnected());
      assertNull(s.lease());
      s.setSoTimeout(1234);
      s.setTcpNoDelay(true);
      s.setKeepAlive(true);
      s.connect(InetSocketAddress.createUnresolved("orders-db", 5432), 2000);
      assertEquals(1234, s.getSoTimeout());
      assertTrue(s.getTcpNoDelay());
      assertTrue(s.getKeepAlive());
      assertEquals(InetAddress.getByName("127.0.0.2"), s.getInetAddress());
      assertEquals("a", new BufferedReader(new InputStreamReader(s.getInputStream())).readLine());
      assertThrows(SocketException.class, () -> s.connect(null), "already connected");
    }
    LeasedSocket unbound = c.unconnectedSocket();
    SocketException e =
        assertThrows(SocketException.class, () -> unbound.bind(new InetSocketAddress(0)));
    assertTrue(e.getMessage().contains("bindLocalAddress"), e.getMessage());
  }

  @Test
  void bindLocalAddress_recordsTheRealFlow() throws IOException {
    balancer(
        OutlierDetection.DEFAULT,
        Backend.of("a", "127.0.0.2", greeter("127.0.0.2", "a")),
        Backend.of("b", "127.0.0.3", greeter("127.0.0.3", "b")));
    BalancedConnector c =
        BalancedConnector.builder(lb, "app")
            .bindLocalAddress(InetAddress.getByName("127.0.0.9"))
            .build();
    try (LeasedSocket s = c.connect()) {
      FlowKey flow = s.lease().flow();
      assertEquals(InetAddress.getByName("127.0.0.9"), flow.sourceAddress());
      assertEquals(s.getLocalPort(), flow.sourcePort());
      assertEquals(7000, flow.destinationPort());
      assertTrue(lb.explain(flow).fromFlowTable());
      assertEquals(s.lease().backend().id(), greeting(s));
      assertEquals(1, lb.activeFlows());
    }
    assertEquals(0, lb.activeFlows());
  }

  @Test
  void bindLocalAddress_retriesWithANewFlowOnAnotherBackend() throws IOException {
    balancer(
        OutlierDetection.DISABLED,
        Backend.of("down", "127.0.0.2", refusing("127.0.0.2")),
        Backend.of("b", "127.0.0.3", greeter("127.0.0.3", "b")));
    BalancedConnector c =
        BalancedConnector.builder(lb, "app")
            .bindLocalAddress(InetAddress.getByName("127.0.0.9"))
            .build();
    for (int i = 0; i < 10; i++) { // about half of the flows pick "down" first
      try (LeasedSocket s = c.connect()) {
        assertEquals("b", greeting(s));
        assertEquals(1, lb.activeFlows());
      }
    }
    assertEquals(0, lb.activeFlows());
  }

  @Test
  void openChannel_connectsAndClosesWithTheLease() throws IOException {
    balancer(OutlierDetection.DEFAULT, Backend.of("a", "127.0.0.2", greeter("127.0.0.2", "a")));
    BalancedConnector c = BalancedConnector.builder(lb, "app").build();
    LeasedChannel ch = c.openChannel("k");
    ByteBuffer buf = ByteBuffer.allocate(2);
    while (buf.hasRemaining() && ch.channel().read(buf) >= 0) {
      // bounded by the two bytes the greeter sends at once
    }
    assertEquals("a\n", new String(buf.array(), StandardCharsets.US_ASCII));
    assertEquals(1, lb.activeFlows("app", "a"));
    ch.close();
    assertFalse(ch.channel().isOpen());
    assertEquals(0, lb.activeFlows("app", "a"));
  }

  @Test
  void builder_refusesBadSettings() throws IOException {
    balancer(OutlierDetection.DEFAULT, Backend.of("a", "127.0.0.2", 1));
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> BalancedConnector.builder(lb, "nope"));
    assertEquals("rule: 'nope' (expected: one of [app])", e.getMessage());
    BalancedConnector.Builder b = BalancedConnector.builder(lb, "app");
    assertEquals(
        "maxAttempts: 0 (expected: 1-10)",
        assertThrows(IllegalArgumentException.class, () -> b.maxAttempts(0)).getMessage());
    assertEquals(
        "connectTimeout: 0s (expected: 1ms-10m)",
        assertThrows(IllegalArgumentException.class, () -> b.connectTimeout(Duration.ZERO))
            .getMessage());
  }
}
