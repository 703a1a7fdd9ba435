package io.lb4j.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lb4j.netty.LeakRecorder;
import io.lb4j.netty.ProxyLoops;
import io.lb4j.netty.TestServer;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The proxy as a systemd {@code Type=notify} service: a test binds the notification socket (Netty
 * epoll, a Unix-domain datagram socket) and hands its address to the proxy as {@code
 * NOTIFY_SOCKET}; it receives {@code READY=1}, {@code RELOADING=1} and {@code READY=1} around a
 * reload, {@code WATCHDOG=1} while the event loops answer (and none while one is stuck), and {@code
 * STOPPING=1} at the drain.
 */
class SystemdNotifyTest {
  @TempDir Path dir;
  private final List<TestServer> servers = new ArrayList<>();

  @AfterAll
  static void noLeaks() {
    assertEquals(List.of(), LeakRecorder.collect(), "Netty reported leaked buffers");
  }

  @AfterEach
  void tearDown() throws IOException {
    for (TestServer s : servers) {
      s.close();
    }
  }

  /** One rule over two backends on 127.0.0.2 and 127.0.0.3, listening on {@code port}. */
  private String yaml(int port) throws IOException {
    StringBuilder b = new StringBuilder("frontends:\n  - { name: web, address: 127.0.0.1 }\n");
    b.append("backendPools:\n  - name: web\n    backends:\n");
    for (int i = 0; i < 2; i++) {
      if (servers.size() <= i) {
        servers.add(
            new TestServer("web-" + i, "127.0.0." + (2 + i), TestServer.Mode.GREET_THEN_ECHO));
      }
      TestServer s = servers.get(i);
      b.append("      - { id: ")
          .append(s.id)
          .append(", address: ")
          .append(s.address.getAddress().getHostAddress())
          .append(", port: ")
          .append(s.address.getPort())
          .append(" }\n");
    }
    b.append("loadBalancingRules:\n  - { name: app, frontend: web, frontendPort: ")
        .append(port)
        .append(", backendPool: web }\n");
    b.append("admin: { enabled: false }\nshutdown: { drainTimeout: 1s }\n");
    return b.toString();
  }

  private Path file(int port) throws IOException {
    Path file = dir.resolve("lb.yaml");
    Files.writeString(file, yaml(port));
    return file;
  }

  private static final Pattern RELOADING =
      Pattern.compile("RELOADING=1\nMONOTONIC_USEC=([0-9]+)\nSTATUS=reloading");

  @Test
  void notify_startReloadRefusedReloadStop_inOrder() throws Exception {
    String socket = dir.resolve("notify.sock").toString();
    int port = TestServer.freePort("127.0.0.1");
    Path file = file(port);
    try (NotifyReceiver systemd = new NotifyReceiver(socket);
        StandaloneProxy p = StandaloneProxy.start(file, Map.of("NOTIFY_SOCKET", socket)::get)) {
      assertTrue(p.systemd().enabled());
      assertNull(p.systemd().watchdog());
      p.notifyReady();
      assertEquals("READY=1\nSTATUS=1 rule, 2 of 2 backends in rotation", systemd.take());

      long before = TimeUnit.NANOSECONDS.toMicros(System.nanoTime());
      Files.writeString(file, yaml(port).replace("drainTimeout: 1s", "drainTimeout: 2s"));
      assertNull(p.reload());
      long after = TimeUnit.NANOSECONDS.toMicros(System.nanoTime());
      Matcher reloading = RELOADING.matcher(systemd.take());
      assertTrue(reloading.matches(), reloading.toString());
      long monotonic = Long.parseLong(reloading.group(1));
      assertTrue(
          before <= monotonic && monotonic <= after,
          "MONOTONIC_USEC " + monotonic + " within [" + before + ", " + after + "]");
      assertEquals("READY=1\nSTATUS=1 rule, 2 of 2 backends in rotation", systemd.take());

      Files.writeString(
          file,
          yaml(port).replace("frontendPort", "frontendPrt").replace("1s }", "1 s }")); // 2 errors
      String refusal = p.reload();
      assertTrue(RELOADING.matcher(systemd.take()).matches());
      assertEquals(
          "READY=1\nSTATUS=reload refused, the running configuration stays: "
              + refusal.split("\n")[0]
              + " (and 1 more); 1 rule, 2 of 2 backends in rotation",
          systemd.take());

      p.shutdown();
      assertEquals(
          "STOPPING=1\nSTATUS=draining, established connections finish; 1 rule, 2 of 2 backends"
              + " in rotation",
          systemd.take());
    }
  }

  @Test
  void notify_abstractAddress_readyArrives() throws Exception {
    String socket = "@lb4j-test-" + ProcessHandle.current().pid() + "-" + System.nanoTime();
    try (NotifyReceiver systemd = new NotifyReceiver(socket);
        StandaloneProxy p =
            StandaloneProxy.start(
                file(TestServer.freePort("127.0.0.1")), Map.of("NOTIFY_SOCKET", socket)::get)) {
      p.notifyReady();
      assertTrue(systemd.take().startsWith("READY=1\n"));
    }
  }

  @Test
  void watchdog_pingsEveryHalfInterval_thenStoppingAtShutdown() throws Exception {
    String socket = dir.resolve("notify.sock").toString();
    Map<String, String> env = new HashMap<>();
    env.put("NOTIFY_SOCKET", socket);
    env.put("WATCHDOG_USEC", "200000"); // 0.2 s: a ping every 0.1 s
    env.put("WATCHDOG_PID", Long.toString(ProcessHandle.current().pid()));
    try (NotifyReceiver systemd = new NotifyReceiver(socket);
        StandaloneProxy p =
            StandaloneProxy.start(file(TestServer.freePort("127.0.0.1")), env::get)) {
      assertEquals(Duration.ofMillis(200), p.systemd().watchdog());
      p.notifyReady();
      assertTrue(systemd.take().startsWith("READY=1\n"));
      assertEquals("WATCHDOG=1", systemd.takeFirst(m -> m.startsWith("WATCHDOG")));
      assertEquals("WATCHDOG=1", systemd.takeFirst(m -> m.startsWith("WATCHDOG")));
      p.shutdown();
      assertTrue(systemd.takeFirst(m -> !m.equals("WATCHDOG=1")).startsWith("STOPPING=1\n"));
    }
  }

  @Test
  void watchdog_stuckEventLoop_noPingUntilItRunsAgain() throws Exception {
    String socket = dir.resolve("notify.sock").toString();
    Map<String, String> env = new HashMap<>();
    env.put("NOTIFY_SOCKET", socket);
    env.put("WATCHDOG_USEC", "3600000000"); // an hour: the test ticks by hand
    try (NotifyReceiver systemd = new NotifyReceiver(socket);
        StandaloneProxy p =
            StandaloneProxy.start(file(TestServer.freePort("127.0.0.1")), env::get)) {
      p.notifyReady();
      assertTrue(systemd.take().startsWith("READY=1\n"));
      CountDownLatch release = new CountDownLatch(1);
      try {
        ProxyLoops.block(p.proxy(), release);
        p.systemd().watchdogTick(); // asks the loops; the stuck one cannot answer
        p.systemd().watchdogTick(); // the answer is still pending: no new question, no ping
        p.systemd().send("STATUS=marker").get(5, TimeUnit.SECONDS);
        // one socket, messages in order: nothing came before the marker
        assertEquals("STATUS=marker", systemd.take());
      } finally {
        release.countDown();
      }
      assertEquals("WATCHDOG=1", systemd.take()); // the loop ran the task: the ping goes out
      p.systemd().watchdogTick();
      assertEquals("WATCHDOG=1", systemd.take());
    }
  }

  @Test
  void fromEnvironment_noNotifySocket_notifiesNothing() throws Exception {
    try (StandaloneProxy p =
        StandaloneProxy.start(file(TestServer.freePort("127.0.0.1")), name -> null)) {
      assertFalse(p.systemd().enabled());
      p.notifyReady(); // does nothing, throws nothing
    }
  }

  @Test
  void fromEnvironment_watchdogForAnotherPidOrUnreadable_noWatchdog() {
    String socket = dir.resolve("notify.sock").toString();
    for (Map<String, String> env :
        List.of(
            Map.of("NOTIFY_SOCKET", socket, "WATCHDOG_USEC", "200000", "WATCHDOG_PID", "1"),
            Map.of("NOTIFY_SOCKET", socket, "WATCHDOG_USEC", "20s"),
            Map.of("NOTIFY_SOCKET", socket, "WATCHDOG_USEC", "0"))) {
      try (SystemdNotifier n = SystemdNotifier.fromEnvironment(env::get, null, () -> false)) {
        assertTrue(n.enabled(), env.toString());
        assertNull(n.watchdog(), env.toString());
      }
    }
    try (SystemdNotifier n =
        SystemdNotifier.fromEnvironment(
            Map.of("NOTIFY_SOCKET", "notify.sock")::get, null, () -> false)) {
      assertFalse(n.enabled(), "a relative path is no socket address");
    }
  }

  @Test
  void open_notAnAddress_refusedWithValueAndExpectation() {
    assertEquals(
        "NOTIFY_SOCKET: 'notify.sock' (expected: an absolute path of an AF_UNIX socket, or @ and"
            + " an abstract name)",
        assertThrows(IllegalArgumentException.class, () -> SdNotifySocket.open("notify.sock"))
            .getMessage());
    assertThrows(IllegalArgumentException.class, () -> SdNotifySocket.open("@"));
    String tooLong = "/" + "n".repeat(107);
    assertEquals(
        "NOTIFY_SOCKET: '"
            + tooLong
            + "' is 108 bytes (expected: less than 108, the size of an AF_UNIX address)",
        assertThrows(IllegalArgumentException.class, () -> SdNotifySocket.open(tooLong))
            .getMessage());
  }

  /** Reads a line of the child's output, 10 s at most per byte. */
  private static String readLine(InputStream in) throws IOException {
    return TestServer.readLine(in);
  }

  /**
   * The command line under a service manager: {@code READY=1} after the ready lines, watchdog
   * pings, and {@code STOPPING=1} at SIGTERM, with the environment systemd sets.
   */
  @Test
  void main_underNotifySocket_readyWatchdogStopping_exit0() throws Exception {
    String socket = dir.resolve("notify.sock").toString();
    Path file = file(TestServer.freePort("127.0.0.1"));
    ProcessBuilder pb =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp",
                System.getProperty("java.class.path"),
                ProxyMain.class.getName(),
                "--config",
                file.toString())
            .redirectErrorStream(true);
    pb.environment().put("NOTIFY_SOCKET", socket);
    pb.environment().put("WATCHDOG_USEC", "400000");
    try (NotifyReceiver systemd = new NotifyReceiver(socket)) {
      Process proxy = pb.start();
      try {
        String first = readLine(proxy.getInputStream());
        assertTrue(first.startsWith("lb4j proxy listening"), first);
        String ready = systemd.take();
        assertTrue(ready.startsWith("READY=1\nSTATUS=1 rule, "), ready);
        assertEquals("WATCHDOG=1", systemd.takeFirst(m -> m.startsWith("WATCHDOG")));
        proxy.toHandle().destroy(); // SIGTERM
        String stopping = systemd.takeFirst(m -> !m.equals("WATCHDOG=1"));
        assertTrue(stopping.startsWith("STOPPING=1\nSTATUS=draining"), stopping);
        assertTrue(proxy.waitFor(20, TimeUnit.SECONDS), "the proxy did not exit");
        assertEquals(0, proxy.exitValue());
      } finally {
        proxy.destroyForcibly();
      }
    }
  }
}
