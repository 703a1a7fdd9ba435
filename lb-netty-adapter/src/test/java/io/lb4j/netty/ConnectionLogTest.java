package io.lb4j.netty;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import io.lb4j.AdminState;
import io.lb4j.Backend;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.SelectionAlgorithm;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The connection log ({@link AccessLog}) and {@link ConnectionListener} over real sockets on
 * 127.0.0.0/8: the line of a normal close, a refusal, a connect retried on a second backend, a give
 * up, an idle timeout with a reset; off by default.
 */
class ConnectionLogTest {
  private static final int TIMEOUT_MS = 10_000;

  private final BlockingQueue<ConnectionRecord> ended = new LinkedBlockingQueue<>();
  private final BlockingQueue<String> connected = new LinkedBlockingQueue<>();
  private final ConnectionListener listener =
      new ConnectionListener() {
        @Override
        public void onConnected(String rule, String backend, long connectNanos) {
          connected.add(rule + "/" + backend + "/" + (connectNanos > 0));
        }

        @Override
        public void onConnectionEnded(ConnectionRecord record) {
          ended.add(record);
        }
      };
  private LogCapture access;

  @BeforeEach
  void capture() {
    access = LogCapture.of(AccessLog.LOGGER, Level.INFO);
  }

  @AfterEach
  void release() {
    access.close();
  }

  @AfterAll
  static void noLeaks() {
    assertEquals(List.of(), LeakRecorder.collect(), "Netty reported leaked buffers");
  }

  /** A fixture whose rule logs connections, with {@link #listener} registered. */
  private ProxyFixture fixture(
      int backends,
      TestServer.Mode mode,
      UnaryOperator<io.lb4j.LoadBalancingRule.Builder> rule,
      UnaryOperator<LoadBalancerConfig.Builder> config,
      FrontendOptions frontend)
      throws IOException {
    ProxyFixture f =
        new ProxyFixture(
            backends,
            mode,
            rule,
            config,
            p ->
                p.ruleOptions("app", RuleOptions.DEFAULT.withAccessLog(true))
                    .frontendOptions("fe", frontend));
    f.proxy.addConnectionListener(listener);
    return f;
  }

  private ConnectionRecord next() throws InterruptedException {
    ConnectionRecord r = ended.poll(TIMEOUT_MS, TimeUnit.MILLISECONDS);
    assertNotNull(r, "no connection ended within " + TIMEOUT_MS + " ms");
    return r;
  }

  /** The line logged for {@code r}: logged before the listeners hear of it. */
  private String lineOf(ConnectionRecord r) {
    String line = AccessLog.format(r);
    assertTrue(access.lines().contains(line), "not logged: " + line + " in " + access.lines());
    return line;
  }

  private static Socket client(InetSocketAddress frontend, String from) throws IOException {
    Socket s = new Socket();
    s.bind(new InetSocketAddress(from, 0));
    s.connect(frontend, TIMEOUT_MS);
    s.setSoTimeout(TIMEOUT_MS);
    return s;
  }

  @Test
  void normalClose_oneLineWithAddressesBytesAndDashDash() throws Exception {
    try (ProxyFixture f =
        fixture(1, TestServer.Mode.ECHO, r -> r, c -> c, FrontendOptions.DEFAULT)) {
      int clientPort;
      try (Socket s = client(f.frontend, "127.0.0.1")) {
        clientPort = s.getLocalPort();
        s.getOutputStream().write("hello\n".getBytes(US_ASCII));
        assertEquals("hello", TestServer.readLine(s.getInputStream()));
        s.shutdownOutput(); // FIN to the backend, whose echo ends and closes: FIN back
        assertEquals(-1, s.getInputStream().read());
      }
      ConnectionRecord r = next();
      TestServer backend = f.servers.get(0);
      assertEquals(Termination.NORMAL, r.termination());
      assertEquals(1, r.attempts());
      assertEquals("web-0", r.backend());
      assertEquals(backend.address, r.backendAddress());
      assertEquals(6, r.bytesToBackend());
      assertEquals(6, r.bytesToClient());
      assertTrue(r.connectNanos() >= 0 && r.connectNanos() <= r.durationNanos(), r.toString());
      assertNull(r.refusal());
      assertNull(r.detail());
      String line = lineOf(r);
      String prefix =
          "client=127.0.0.1:"
              + clientPort
              + " frontend=fe listener=127.0.0.1:"
              + f.frontend.getPort()
              + " rule=app backend=web-0 backend_addr=127.0.0.2:"
              + backend.address.getPort()
              + " connect_ms=";
      assertTrue(line.startsWith(prefix), line);
      assertTrue(
          line.endsWith(" bytes_to_backend=6 bytes_to_client=6 attempts=1 termination=--"), line);
      assertTrue(line.matches(".* connect_ms=\\d+\\.\\d{3} duration_ms=\\d+ .*"), line);
      assertEquals(1, access.lines().size(), access.lines().toString());
      assertEquals("app/web-0/true", connected.poll(TIMEOUT_MS, TimeUnit.MILLISECONDS));
    }
  }

  @Test
  void refusals_denyListAndNoBackend_PRWithTheReason() throws Exception {
    FrontendOptions deny =
        new FrontendOptions(false, 0, List.of(), List.of(Cidr.parse("127.0.0.66/32")));
    try (ProxyFixture f = fixture(1, TestServer.Mode.ECHO, r -> r, c -> c, deny)) {
      try (Socket s = client(f.frontend, "127.0.0.66")) {
        assertEquals(-1, s.getInputStream().read());
      }
      ConnectionRecord r = next();
      assertEquals(Termination.REFUSED, r.termination());
      assertEquals(RefusalReason.DENY_LIST, r.refusal());
      assertEquals(0, r.attempts());
      assertNull(r.backend());
      String line = lineOf(r);
      assertTrue(
          line.contains(" rule=app backend=- backend_addr=- connect_ms=-1 duration_ms="), line);
      assertTrue(
          line.endsWith(
              " bytes_to_backend=0 bytes_to_client=0 attempts=0 termination=PR"
                  + " refusal=deny_list detail=\"127.0.0.66/32\""),
          line);

      f.lb.setAdminState("web", "web-0", AdminState.DISABLED);
      try (Socket s = client(f.frontend, "127.0.0.7")) {
        assertEquals(-1, s.getInputStream().read());
      }
      ConnectionRecord none = next();
      assertEquals(Termination.REFUSED, none.termination());
      assertEquals(RefusalReason.NO_BACKEND, none.refusal());
      assertTrue(
          lineOf(none).contains(" termination=PR refusal=no_backend detail=\"NO_"), lineOf(none));
      assertTrue(connected.isEmpty(), connected.toString());
    }
  }

  @Test
  void connectRetry_firstBackendRefuses_secondAccepts_attempts2() throws Exception {
    int deadPort;
    try (ServerSocket ss = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.9"))) {
      deadPort = ss.getLocalPort(); // closed: a connect to it is refused
    }
    try (ProxyFixture f =
        fixture(
            1,
            TestServer.Mode.GREET_THEN_ECHO,
            r -> r.algorithm(SelectionAlgorithm.ROUND_ROBIN),
            c -> withBackend(c, Backend.of("dead", "127.0.0.9", deadPort)),
            FrontendOptions.DEFAULT)) {
      // round robin over {dead, web-0}: of two connections at least one tries dead first
      for (int i = 0; i < 2; i++) {
        try (Socket s = client(f.frontend, "127.0.0.1")) {
          assertEquals("web-0", TestServer.readLine(s.getInputStream()));
        }
      }
      List<ConnectionRecord> records = List.of(next(), next());
      ConnectionRecord retried = null;
      for (ConnectionRecord r : records) {
        assertEquals("web-0", r.backend(), r.toString());
        assertTrue(r.attempts() == 1 || r.attempts() == 2, r.toString());
        if (r.attempts() == 2) {
          retried = r;
        }
      }
      assertNotNull(retried, "no connection tried the dead backend first: " + records);
      assertTrue(retried.connectNanos() >= 0, retried.toString());
      String line = lineOf(retried);
      assertTrue(line.contains(" backend=web-0 backend_addr=127.0.0.2:"), line);
      assertTrue(line.contains(" attempts=2 termination="), line);
    }
  }

  @Test
  void connectFailed_everyAttemptRefused_SCWithTheError() throws Exception {
    int deadPort;
    try (ServerSocket ss = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.9"))) {
      deadPort = ss.getLocalPort();
    }
    try (ProxyFixture f =
        fixture(
            0,
            TestServer.Mode.ECHO,
            r -> r,
            c -> withBackend(c, Backend.of("dead", "127.0.0.9", deadPort)),
            FrontendOptions.DEFAULT)) {
      try (Socket s = client(f.frontend, "127.0.0.1")) {
        assertEquals(-1, s.getInputStream().read());
      }
      ConnectionRecord r = next();
      assertEquals(Termination.CONNECT_FAILED, r.termination());
      assertEquals("dead", r.backend());
      assertEquals(1, r.attempts(), "one candidate: one attempt");
      assertEquals(-1, r.connectNanos());
      String line = lineOf(r);
      assertTrue(line.contains(" connect_ms=-1 "), line);
      assertTrue(line.contains(" attempts=1 termination=SC detail=\""), line);
      assertTrue(line.toLowerCase(java.util.Locale.ROOT).contains("refused"), line);
    }
  }

  @Test
  void idleTimeout_withTcpReset_cDAndTheClientIsReset() throws Exception {
    try (ProxyFixture f =
            fixture(
                1,
                TestServer.Mode.ECHO,
                r -> r.idleTimeout(Duration.ofMillis(300)).tcpReset(true),
                c -> c,
                FrontendOptions.DEFAULT);
        Socket s = client(f.frontend, "127.0.0.1")) {
      SocketException e = assertThrows(SocketException.class, () -> s.getInputStream().read());
      assertTrue(e.getMessage().contains("reset"), e.getMessage());
      ConnectionRecord r = next();
      assertEquals(Termination.IDLE_TIMEOUT, r.termination());
      assertTrue(
          lineOf(r)
              .endsWith(
                  " bytes_to_backend=0 bytes_to_client=0 attempts=1 termination=cD"
                      + " detail=\"idle for 300ms, reset\""),
          lineOf(r));
    }
  }

  @Test
  void accessLogOff_byDefault_listenerHearsButNothingIsLogged() throws Exception {
    try (ProxyFixture f = ProxyFixture.of(1, TestServer.Mode.GREET_THEN_ECHO)) {
      f.proxy.addConnectionListener(listener);
      try (Socket s = client(f.frontend, "127.0.0.1")) {
        assertEquals("web-0", TestServer.readLine(s.getInputStream()));
      }
      ConnectionRecord r = next(); // built for the listener: the line would be logged before it
      assertEquals("web-0", r.backend());
      assertEquals(List.of(), access.lines());
    }
  }

  @Test
  void listenerThatThrows_isLoggedAndTheConnectionStillServed() throws Exception {
    try (ProxyFixture f =
            fixture(1, TestServer.Mode.GREET_THEN_ECHO, r -> r, c -> c, FrontendOptions.DEFAULT);
        LogCapture warnings = LogCapture.of(NettyL4Proxy.class.getName(), Level.WARN)) {
      f.proxy.addConnectionListener(
          new ConnectionListener() {
            @Override
            public void onConnected(String rule, String backend, long nanos) {
              throw new IllegalStateException("listener bug");
            }
          });
      try (Socket s = client(f.frontend, "127.0.0.1")) {
        assertEquals("web-0", TestServer.readLine(s.getInputStream()));
      }
      next();
      assertEquals(1, warnings.lines().size(), warnings.lines().toString());
      assertTrue(warnings.lines().get(0).contains("listener bug"), warnings.lines().toString());
    }
  }

  private static LoadBalancerConfig.Builder withBackend(LoadBalancerConfig.Builder c, Backend b) {
    LoadBalancerConfig built = c.build();
    return built.withPool(built.pool("web").withBackend(b)).toBuilder();
  }
}
