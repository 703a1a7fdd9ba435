package io.lb4j.proxy;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lb4j.netty.LeakRecorder;
import io.lb4j.netty.TestServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.StringWriter;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The standalone proxy from a YAML file: admin endpoint, reload, check, SIGTERM. */
class StandaloneProxyTest {
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

  private String yaml(int frontendPort, int backends) throws IOException {
    StringBuilder b = new StringBuilder();
    b.append("frontends:\n  - { name: web, address: 127.0.0.1 }\n");
    b.append("backendPools:\n  - name: web\n    backends:\n");
    for (int i = 0; i < backends; i++) {
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
        .append(frontendPort)
        .append(", backendPool: web, algorithm: ROUND_ROBIN }\n");
    b.append("admin: { port: 0 }\nshutdown: { drainTimeout: 20s }\n");
    return b.toString();
  }

  private static String get(InetSocketAddress admin, String method, String path)
      throws IOException {
    try (Socket s = new Socket(admin.getAddress(), admin.getPort())) {
      s.setSoTimeout(10_000);
      s.getOutputStream()
          .write(
              (method
                      + " "
                      + path
                      + " HTTP/1.1\r\nHost: 127.0.0.1:"
                      + admin.getPort()
                      + "\r\nContent-Type: application/json\r\nContent-Length: 0\r\n\r\n")
                  .getBytes(US_ASCII));
      return new String(s.getInputStream().readAllBytes(), US_ASCII);
    }
  }

  private static String readLine(InputStream in) throws IOException {
    return TestServer.readLine(in);
  }

  @Test
  void admin_backendsAndRules_reportHealthAndCounters() throws Exception {
    int port = TestServer.freePort("127.0.0.1");
    Path file = dir.resolve("lb.yaml");
    Files.writeString(file, yaml(port, 2));
    try (StandaloneProxy p = StandaloneProxy.start(file);
        Socket c = new Socket("127.0.0.1", port)) {
      c.setSoTimeout(10_000);
      assertTrue(readLine(c.getInputStream()).startsWith("web-"));
      String backends = get(p.adminAddress(), "GET", "/backends");
      assertTrue(backends.startsWith("HTTP/1.1 200 OK"), backends);
      assertTrue(backends.contains("\"id\" : \"web-0\""), backends);
      assertTrue(backends.contains("\"health\" : \"HEALTHY\""), backends);
      assertTrue(backends.contains("\"activeFlows\" : 1"), backends);
      String rules = get(p.adminAddress(), "GET", "/rules");
      assertTrue(rules.contains("\"totalConnections\" : 1"), rules);
      assertTrue(get(p.adminAddress(), "GET", "/nope").startsWith("HTTP/1.1 404"));
      assertTrue(p.adminAddress().getAddress().isLoopbackAddress());
    }
  }

  @Test
  void version_namesTheBuiltVersionAndTheJvm() {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    assertEquals(0, ProxyCli.run(out, err, "--version"));
    assertEquals(
        "lb4j proxy "
            + System.getProperty("lb4j.test.projectVersion")
            + " (Java "
            + System.getProperty("java.version")
            + ")",
        out.toString().strip());
  }

  @Test
  void reload_addsABackendWithoutDroppingConnections_invalidFileChangesNothing() throws Exception {
    int port = TestServer.freePort("127.0.0.1");
    Path file = dir.resolve("lb.yaml");
    Files.writeString(file, yaml(port, 1));
    try (StandaloneProxy p = StandaloneProxy.start(file);
        Socket held = new Socket("127.0.0.1", port)) {
      held.setSoTimeout(10_000);
      assertEquals("web-0", readLine(held.getInputStream()));
      Files.writeString(file, yaml(port, 2));
      String ok = get(p.adminAddress(), "POST", "/reload");
      assertTrue(ok.contains("\"reloaded\" : true"), ok);
      // the established connection still works
      held.getOutputStream().write("still here\n".getBytes(US_ASCII));
      assertEquals("still here", readLine(held.getInputStream()));
      // round robin over two backends now
      List<String> seen = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        try (Socket c = new Socket("127.0.0.1", port)) {
          c.setSoTimeout(10_000);
          seen.add(readLine(c.getInputStream()));
        }
      }
      assertTrue(seen.contains("web-0") && seen.contains("web-1"), seen.toString());
      // an invalid file is refused and the proxy runs on
      Files.writeString(file, yaml(port, 2).replace("ROUND_ROBIN", "FASTEST"));
      String refused = get(p.adminAddress(), "POST", "/reload");
      assertTrue(refused.startsWith("HTTP/1.1 400"), refused);
      assertTrue(refused.contains("loadBalancingRules[0].algorithm: 'FASTEST'"), refused);
      try (Socket c = new Socket("127.0.0.1", port)) {
        c.setSoTimeout(10_000);
        assertTrue(readLine(c.getInputStream()).startsWith("web-"));
      }
    }
  }

  @Test
  void check_validAndInvalidFiles_exitCodesAndMessages() throws Exception {
    Path good = dir.resolve("good.yaml");
    Files.writeString(good, yaml(TestServer.freePort("127.0.0.1"), 1));
    Path bad = dir.resolve("bad.yaml");
    Files.writeString(
        bad, yaml(TestServer.freePort("127.0.0.1"), 1).replace("frontendPort", "frontendPrt"));
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    assertEquals(0, ProxyCli.run(out, err, "--check", good.toString()));
    assertTrue(
        out.toString()
            .contains(
                "OK (1 frontends, 1 pools, 0 probes, 1 load-balancing"
                    + " rules, 0 inbound NAT rules)"),
        out.toString());
    assertEquals(ProxyMain.CONFIG_ERROR, ProxyCli.run(out, err, "--check", bad.toString()));
    assertTrue(
        err.toString().startsWith("bad.yaml:8: loadBalancingRules[0].frontendPrt: unknown key"),
        err.toString());
    assertEquals(ProxyMain.CONFIG_ERROR, ProxyCli.run(out, err, "--config", bad.toString()));
    assertEquals(ProxyMain.CONFIG_ERROR, ProxyCli.run(out, err));
  }

  @Test
  void sigterm_drainsEstablishedConnectionsThenExitsZero() throws Exception {
    int port = TestServer.freePort("127.0.0.1");
    Path file = dir.resolve("lb.yaml");
    Files.writeString(file, yaml(port, 1));
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process proxy =
        new ProcessBuilder(
                java,
                "-cp",
                System.getProperty("java.class.path"),
                ProxyMain.class.getName(),
                "--config",
                file.toString())
            .redirectErrorStream(true)
            .start();
    try {
      InputStream out = proxy.getInputStream();
      String first = readLine(out);
      assertTrue(first.startsWith("lb4j proxy listening"), first);
      readLine(out); // admin line
      try (Socket held = new Socket("127.0.0.1", port)) {
        held.setSoTimeout(10_000);
        assertEquals("web-0", readLine(held.getInputStream()));
        proxy.toHandle().destroy(); // SIGTERM, leaving our end of its streams open
        String stopping = readLine(out);
        assertEquals("lb4j proxy: stopping; established connections may finish for 20s", stopping);
        // new connections are refused, the held one still works
        boolean refused;
        try (Socket late = new Socket("127.0.0.1", port)) {
          late.setSoTimeout(2000);
          refused = late.getInputStream().read() < 0;
        } catch (java.net.ConnectException e) {
          refused = true;
        }
        assertTrue(refused, "a new connection was accepted while draining");
        held.getOutputStream().write("during drain\n".getBytes(US_ASCII));
        assertEquals("during drain", readLine(held.getInputStream()));
      } // the client closes: the drain is over
      assertTrue(proxy.waitFor(20, TimeUnit.SECONDS), "the proxy did not exit");
      assertEquals(0, proxy.exitValue());
    } finally {
      proxy.destroyForcibly();
    }
  }

  /**
   * A reload that binds listeners must not run on an event loop: with one I/O thread the bind would
   * wait on the loop that runs it (Netty refuses that with BlockingOperationException).
   */
  @ParameterizedTest(name = "ioThreads {0}")
  @ValueSource(ints = {1, 3})
  void reload_addsARuleAndMovesAnother_bothListenersServe(int ioThreads) throws Exception {
    int port = TestServer.freePort("127.0.0.1");
    Path file = dir.resolve("lb.yaml");
    String proxy = "proxy: { ioThreads: " + ioThreads + " }\n";
    Files.writeString(file, yaml(port, 1) + proxy);
    try (StandaloneProxy p = StandaloneProxy.start(file)) {
      int moved = TestServer.freePort("127.0.0.1");
      int added = TestServer.freePort("127.0.0.1");
      String next =
          yaml(moved, 1)
                  .replace(
                      "admin:",
                      "  - { name: added, frontend: web, frontendPort: "
                          + added
                          + ", backendPool: web }\nadmin:")
              + proxy;
      Files.writeString(file, next);
      String answer = get(p.adminAddress(), "POST", "/reload");
      assertTrue(answer.startsWith("HTTP/1.1 200 OK"), answer);
      assertTrue(answer.contains("\"reloaded\" : true"), answer);
      for (int listener : new int[] {moved, added}) {
        try (Socket c = new Socket("127.0.0.1", listener)) {
          c.setSoTimeout(10_000);
          assertEquals("web-0", readLine(c.getInputStream()), "listener on port " + listener);
        }
      }
      assertEquals(Integer.valueOf(moved), p.proxy().listeners().get("app").getPort());
      assertEquals(Integer.valueOf(added), p.proxy().listeners().get("added").getPort());
    }
  }

  /** {@code proxy.reusePort} reaches the proxy: one socket per event loop, or one per rule. */
  @ParameterizedTest(name = "reusePort {0}")
  @ValueSource(booleans = {true, false})
  void start_reusePortInFile_socketsPerRuleFollow(boolean reusePort) throws Exception {
    int port = TestServer.freePort("127.0.0.1");
    Path file = dir.resolve("lb.yaml");
    Files.writeString(
        file, yaml(port, 1) + "proxy: { ioThreads: 2, reusePort: " + reusePort + " }\n");
    try (StandaloneProxy p = StandaloneProxy.start(file)) {
      assertEquals(reusePort, p.config().reusePort());
      assertEquals(reusePort ? 2 : 1, p.proxy().acceptorsPerListener());
      for (int i = 0; i < 8; i++) {
        try (Socket c = new Socket("127.0.0.1", port)) {
          c.setSoTimeout(10_000);
          assertEquals("web-0", readLine(c.getInputStream()));
        }
      }
    }
  }

  /** Starts {@code ProxyMain} with {@code args} in a child JVM on this test's class path. */
  private static ProcessBuilder child(String... args) {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(ProxyMain.class.getName());
    command.addAll(List.of(args));
    return new ProcessBuilder(command);
  }

  @Test
  void main_frontendPortInUse_oneLineNamingRuleAndAddress_exit2() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      Path file = dir.resolve("lb.yaml");
      Files.writeString(file, yaml(taken.getLocalPort(), 1));
      Process proxy = child("--config", file.toString()).start();
      try {
        assertTrue(proxy.waitFor(20, TimeUnit.SECONDS), "the proxy did not exit");
        String err = new String(proxy.getErrorStream().readAllBytes(), UTF_8);
        assertEquals(
            "lb4j-proxy: rule 'app' cannot listen on 127.0.0.1:"
                + taken.getLocalPort()
                + ": address already in use\n",
            err);
        assertEquals(ProxyMain.CONFIG_ERROR, proxy.exitValue());
      } finally {
        proxy.toHandle().destroyForcibly();
      }
    }
  }

  /**
   * Under {@code nohup}, SIGHUP is ignored from launch and the JVM then refuses to install a
   * handler for it, so a SIGHUP never reloads: the proxy says so once at start and names the way
   * that works.
   */
  @Test
  void main_startedWithSighupIgnored_warnsThatPostReloadIsTheWay() throws Exception {
    int port = TestServer.freePort("127.0.0.1");
    Path file = dir.resolve("lb.yaml");
    Files.writeString(file, yaml(port, 1));
    List<String> command = new ArrayList<>(List.of("sh", "-c", "trap '' HUP; exec \"$0\" \"$@\""));
    command.addAll(child("--config", file.toString()).command());
    Process proxy = new ProcessBuilder(command).redirectErrorStream(true).start();
    try {
      CompletableFuture<String> warning =
          CompletableFuture.supplyAsync(
              () -> {
                try {
                  for (String line; !(line = readLine(proxy.getInputStream())).isEmpty(); ) {
                    if (line.contains("SIGHUP")) {
                      return line;
                    }
                  }
                  return "(no warning before the output ended)";
                } catch (IOException e) {
                  return e.toString();
                }
              });
      String line = warning.get(20, TimeUnit.SECONDS);
      assertTrue(line.contains("WARN"), line);
      assertTrue(line.contains("SIGHUP is ignored"), line);
      assertTrue(line.contains("POST /reload"), line);
    } finally {
      proxy.toHandle().destroyForcibly();
      proxy.waitFor(20, TimeUnit.SECONDS);
    }
  }

  /**
   * A reload that wants a port another process holds is answered 400 with the reason as JSON, and
   * changes nothing: no listener of the new file is left bound (neither the moved rule's nor the
   * added one's), the balancer, the listeners and the options are the old ones, and once the port
   * is free the same file reloads.
   */
  @ParameterizedTest(name = "ioThreads {0}")
  @ValueSource(ints = {1, 3})
  void reload_heldPort_answers400JsonNoOrphanOldConfigInForce(int ioThreads) throws Exception {
    int port = TestServer.freePort("127.0.0.1");
    int moved = TestServer.freePort("127.0.0.1");
    int added = TestServer.freePort("127.0.0.1");
    String proxy = "proxy: { ioThreads: " + ioThreads + " }\n";
    Path file = dir.resolve("lb.yaml");
    Files.writeString(file, yaml(port, 1) + proxy);
    try (StandaloneProxy p = StandaloneProxy.start(file)) {
      ProxyConfig before = p.config();
      Map<String, InetSocketAddress> listening = p.proxy().listeners();
      ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"));
      int held = taken.getLocalPort();
      String next =
          yaml(moved, 1)
                  .replace(
                      "admin:",
                      "  - { name: added, frontend: web, frontendPort: "
                          + added
                          + ", backendPool: web }\n"
                          + "  - { name: clash, frontend: web, frontendPort: "
                          + held
                          + ", backendPool: web, idleTimeout: 7s }\nadmin:")
              + proxy;
      try (taken) {
        Files.writeString(file, next);
        String refused = get(p.adminAddress(), "POST", "/reload");
        assertTrue(refused.startsWith("HTTP/1.1 400"), refused);
        JsonNode body = new ObjectMapper().readTree(body(refused));
        assertFalse(body.path("reloaded").asBoolean(true), refused);
        assertEquals(
            "rule 'clash' cannot listen on 127.0.0.1:" + held + ": address already in use",
            body.path("error").asText(),
            refused);
        for (int orphan : new int[] {moved, added}) {
          assertThrows(
              ConnectException.class,
              () -> new Socket("127.0.0.1", orphan).close(),
              "a listener of the refused file is bound on " + orphan);
        }
        try (Socket c = new Socket("127.0.0.1", port)) {
          c.setSoTimeout(10_000);
          assertEquals("web-0", readLine(c.getInputStream()), "the old listener must still serve");
        }
        assertEquals(listening, p.proxy().listeners());
        assertEquals(before.loadBalancer(), p.proxy().loadBalancer().config());
        assertSame(before, p.config());
      }
      // the port is free again: the same file reloads, nothing of the failed attempt is in the way
      String ok = get(p.adminAddress(), "POST", "/reload");
      assertTrue(ok.startsWith("HTTP/1.1 200 OK"), ok);
      for (int listener : new int[] {moved, added, held}) {
        try (Socket c = new Socket("127.0.0.1", listener)) {
          c.setSoTimeout(10_000);
          assertEquals("web-0", readLine(c.getInputStream()), "listener on port " + listener);
        }
      }
    }
  }

  /** POST /reload reads the file within the same limits as a start: a 10 MB file is a fast 400. */
  @Test
  void reload_tenMegabyteFile_answers400FastWithTheLimit() throws Exception {
    int port = TestServer.freePort("127.0.0.1");
    Path file = dir.resolve("lb.yaml");
    Files.writeString(file, yaml(port, 1));
    try (StandaloneProxy p = StandaloneProxy.start(file)) {
      Files.writeString(file, yaml(port, 1) + "# " + "x".repeat(10_000_000) + "\n");
      long start = System.nanoTime();
      String refused = get(p.adminAddress(), "POST", "/reload");
      long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
      assertTrue(refused.startsWith("HTTP/1.1 400"), refused);
      assertEquals(
          "lb.yaml: " + Files.size(file) + " bytes (expected: at most 1048576 bytes)",
          new ObjectMapper().readTree(body(refused)).path("error").asText(),
          refused);
      assertTrue(tookMs < 2000, "answered after " + tookMs + " ms (expected: under 2 s)");
    }
  }

  /** Returns the body of a raw HTTP answer. */
  private static String body(String answer) {
    return answer.substring(answer.indexOf("\r\n\r\n") + 4);
  }

  /**
   * A failed reload through SIGHUP is one log line with the reason, and the signal thread throws
   * nothing: the proxy keeps serving and stops normally on SIGTERM.
   */
  @Test
  void main_sighupReloadFails_logsOneLineWithTheReason_keepsServing() throws Exception {
    int port = TestServer.freePort("127.0.0.1");
    Path file = dir.resolve("lb.yaml");
    Files.writeString(file, yaml(port, 1));
    Process proxy = child("--config", file.toString()).redirectErrorStream(true).start();
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      BlockingQueue<String> lines = new LinkedBlockingQueue<>();
      Thread reader =
          new Thread(
              () -> {
                try {
                  for (String line; !(line = readLine(proxy.getInputStream())).isEmpty(); ) {
                    lines.add(line);
                  }
                } catch (IOException e) {
                  lines.add(e.toString());
                }
                lines.add("(end)");
              });
      reader.setDaemon(true);
      reader.start();
      List<String> output = new ArrayList<>();
      await(lines, output, "admin: ");
      Files.writeString(
          file,
          yaml(port, 1)
              .replace(
                  "admin:",
                  "  - { name: clash, frontend: web, frontendPort: "
                      + taken.getLocalPort()
                      + ", backendPool: web }\nadmin:"));
      Process hup = new ProcessBuilder("kill", "-HUP", Long.toString(proxy.pid())).start();
      assertTrue(hup.waitFor(10, TimeUnit.SECONDS) && hup.exitValue() == 0, "kill -HUP failed");
      String reason =
          "rule 'clash' cannot listen on 127.0.0.1:"
              + taken.getLocalPort()
              + ": address already in use";
      assertTrue(await(lines, output, reason).contains("WARN"), output.toString());
      try (Socket c = new Socket("127.0.0.1", port)) {
        c.setSoTimeout(10_000);
        assertEquals("web-0", readLine(c.getInputStream()), "the proxy must keep serving");
      }
      proxy.toHandle().destroy(); // SIGTERM
      assertTrue(proxy.waitFor(20, TimeUnit.SECONDS), "the proxy did not exit");
      assertEquals(0, proxy.exitValue(), output.toString());
      await(lines, output, "(end)");
      assertEquals(
          1, output.stream().filter(l -> l.contains(reason)).count(), String.join("\n", output));
      assertTrue(
          output.stream().noneMatch(l -> l.contains("Exception") || l.contains("\tat ")),
          String.join("\n", output));
    } finally {
      proxy.toHandle().destroyForcibly();
    }
  }

  @Test
  void reloadOnSignal_reloadThrowsAnError_nothingReachesTheSignalThread() {
    assertDoesNotThrow(
        () ->
            ProxyMain.reloadOnSignal(
                () -> {
                  throw new StackOverflowError("deep");
                }));
  }

  /** Moves lines to {@code output} until one contains {@code text}; returns it. */
  private static String await(BlockingQueue<String> lines, List<String> output, String text)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (true) {
      String line = lines.poll(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      if (line == null) {
        throw new AssertionError("no line with '" + text + "' within 20 s: " + output);
      }
      output.add(line);
      if (line.contains(text)) {
        return line;
      }
    }
  }

  @Test
  void reload_bindFailure_keepsEveryOldListener() throws Exception {
    int port = TestServer.freePort("127.0.0.1");
    int moved = TestServer.freePort("127.0.0.1");
    Path file = dir.resolve("lb.yaml");
    Files.writeString(file, yaml(port, 1));
    try (StandaloneProxy p = StandaloneProxy.start(file);
        java.net.ServerSocket taken =
            new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
      // the rule moves to a free port, and a second rule wants a port that is taken
      String next =
          yaml(moved, 1)
              .replace(
                  "admin:",
                  "  - { name: clash, frontend: web,"
                      + " frontendPort: "
                      + taken.getLocalPort()
                      + ", backendPool: web }\nadmin:");
      Files.writeString(file, next);
      String refused = get(p.adminAddress(), "POST", "/reload");
      assertTrue(refused.startsWith("HTTP/1.1 400"), refused);
      assertTrue(
          refused.contains(
              "rule 'clash' cannot listen on 127.0.0.1:"
                  + taken.getLocalPort()
                  + ": address already in use"),
          refused);
      try (Socket c = new Socket("127.0.0.1", port)) {
        c.setSoTimeout(10_000);
        assertEquals("web-0", readLine(c.getInputStream()), "the old listener must still serve");
      }
      assertEquals(Integer.valueOf(port), p.proxy().listeners().get("app").getPort());
    }
  }
}
