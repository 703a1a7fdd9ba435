package io.lb4j.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import io.lb4j.netty.AccessLog;
import io.lb4j.netty.LeakRecorder;
import io.lb4j.netty.LogCapture;
import io.lb4j.netty.TestServer;
import java.io.IOException;
import java.io.StringWriter;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * Logs of the standalone proxy: the {@code logging:} block (levels, re-applied on reload; the
 * connection log of every rule) and {@code --log-level}.
 */
class LoggingTest {
  private static final String PROBE = "io.lb4j.logging.test";

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

  private static Logger logback(String name) {
    return (Logger) LoggerFactory.getLogger(name);
  }

  private String yaml(int frontendPort, String logging) throws IOException {
    if (servers.isEmpty()) {
      servers.add(new TestServer("web-0", "127.0.0.2", TestServer.Mode.GREET_THEN_ECHO));
    }
    TestServer s = servers.get(0);
    return "frontends:\n  - { name: web, address: 127.0.0.1 }\n"
        + "backendPools:\n  - name: web\n    backends:\n"
        + "      - { id: web-0, address: 127.0.0.2, port: "
        + s.address.getPort()
        + " }\n"
        + "loadBalancingRules:\n  - { name: app, frontend: web, frontendPort: "
        + frontendPort
        + ", backendPool: web }\n"
        + "admin: { port: 0 }\n"
        + logging;
  }

  // ---------------------------------------------------------------- the file

  @Test
  void parse_loggingBlock_levelsAndAccessLogOnEveryRule() throws Exception {
    ProxyConfig c =
        ConfigLoader.parse(
            "lb.yaml",
            yaml(8080, "logging:\n  level: warn\n  levels:\n    io.lb4j.access: INFO\n")
                + "  accessLog: true\n");
    assertEquals(LoggingOptions.Level.WARN, c.logging().level());
    assertEquals(Map.of("io.lb4j.access", LoggingOptions.Level.INFO), c.logging().levels());
    assertTrue(c.ruleOptions().get("app").accessLog(), c.ruleOptions().toString());
    ProxyConfig none = ConfigLoader.parse("lb.yaml", yaml(8080, ""));
    assertEquals(LoggingOptions.DEFAULT, none.logging());
    assertEquals(false, none.ruleOptions().get("app").accessLog());
  }

  @Test
  void parse_badLoggingBlock_errorsNameLinePathValueAndExpectation() throws Exception {
    String base = yaml(8080, "");
    int line = (int) base.lines().count() + 1; // the logging: line
    IllegalArgumentException level =
        assertThrows(
            IllegalArgumentException.class,
            () -> ConfigLoader.parse("lb.yaml", base + "logging:\n  level: LOUD\n"));
    assertEquals(
        "lb.yaml:"
            + (line + 1)
            + ": logging.level: 'LOUD' (expected one of: [TRACE, DEBUG, INFO, WARN, ERROR, OFF])",
        level.getMessage());
    IllegalArgumentException perLogger =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                ConfigLoader.parse(
                    "lb.yaml", base + "logging:\n  levels:\n    io.lb4j.access: verbose\n"));
    assertEquals(
        "lb.yaml:"
            + (line + 2)
            + ": logging.levels.io.lb4j.access: 'verbose' (expected one of: [TRACE, DEBUG, INFO,"
            + " WARN, ERROR, OFF])",
        perLogger.getMessage());
    IllegalArgumentException name =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                ConfigLoader.parse(
                    "lb.yaml", base + "logging:\n  levels:\n    'io..lb4j': INFO\n"));
    assertTrue(
        name.getMessage().contains("logging.levels.io..lb4j: 'io..lb4j' (expected: a logger name"),
        name.getMessage());
    IllegalArgumentException key =
        assertThrows(
            IllegalArgumentException.class,
            () -> ConfigLoader.parse("lb.yaml", base + "logging:\n  acessLog: true\n"));
    assertTrue(
        key.getMessage()
            .startsWith(
                "lb.yaml:"
                    + (line + 1)
                    + ": logging.acessLog: unknown key; did you mean 'accessLog'? (expected one"),
        key.getMessage());
  }

  // ---------------------------------------------------------------- levels

  @Test
  void start_reload_close_levelsFollowTheFileAndGoBack() throws Exception {
    Level rootBefore = logback(Logger.ROOT_LOGGER_NAME).getLevel();
    int port = TestServer.freePort("127.0.0.1");
    Path file = dir.resolve("lb.yaml");
    Files.writeString(
        file, yaml(port, "logging:\n  level: ERROR\n  levels: { " + PROBE + ": DEBUG }\n"));
    try (StandaloneProxy p = StandaloneProxy.start(file)) {
      assertEquals(Level.DEBUG, logback(PROBE).getLevel());
      assertEquals(Level.ERROR, logback(Logger.ROOT_LOGGER_NAME).getLevel());

      Files.writeString(file, yaml(port, "logging:\n  levels: { " + PROBE + ".sub: TRACE }\n"));
      assertNull(p.reload());
      assertNull(logback(PROBE).getLevel(), "removed from the file: inherits again");
      assertEquals(Level.TRACE, logback(PROBE + ".sub").getLevel());
      assertEquals(rootBefore, logback(Logger.ROOT_LOGGER_NAME).getLevel());

      Files.writeString(file, yaml(port, "logging:\n  level: LOUD\n"));
      assertTrue(p.reload().contains("logging.level: 'LOUD'"), "an invalid file changes nothing");
      assertEquals(Level.TRACE, logback(PROBE + ".sub").getLevel());
    }
    assertNull(logback(PROBE + ".sub").getLevel(), "close gives the levels back");
    assertEquals(rootBefore, logback(Logger.ROOT_LOGGER_NAME).getLevel());
  }

  @Test
  void flags_winOverTheFile_reappliedAfterEachReload() throws Exception {
    int port = TestServer.freePort("127.0.0.1");
    Path file = dir.resolve("lb.yaml");
    Files.writeString(file, yaml(port, "logging:\n  levels: { " + PROBE + ": DEBUG }\n"));
    LogLevels levels = new LogLevels(LogLevels.parseFlags(List.of(PROBE + "=warn", "ERROR")));
    Level rootBefore = logback(Logger.ROOT_LOGGER_NAME).getLevel();
    try (StandaloneProxy p = StandaloneProxy.start(file, name -> null, levels)) {
      assertEquals(Level.WARN, logback(PROBE).getLevel());
      assertEquals(Level.ERROR, logback(Logger.ROOT_LOGGER_NAME).getLevel());
      Files.writeString(file, yaml(port, "logging:\n  level: INFO\n"));
      assertNull(p.reload());
      assertEquals(Level.WARN, logback(PROBE).getLevel());
      assertEquals(Level.ERROR, logback(Logger.ROOT_LOGGER_NAME).getLevel());
    }
    assertNull(logback(PROBE).getLevel());
    assertEquals(rootBefore, logback(Logger.ROOT_LOGGER_NAME).getLevel());
  }

  @Test
  void parseFlags_badValue_namesFlagValueAndForms() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> LogLevels.parseFlags(List.of("INFO", "io.lb4j.access=LOUD")));
    assertEquals(
        "--log-level: 'io.lb4j.access=LOUD' (expected: LEVEL or LOGGER=LEVEL, such as INFO or"
            + " io.lb4j.access=WARN; levels: TRACE, DEBUG, INFO, WARN, ERROR, OFF)",
        e.getMessage());
  }

  @Test
  void main_badLogLevel_exit2WithTheReason() throws Exception {
    Path file = dir.resolve("lb.yaml");
    Files.writeString(file, yaml(TestServer.freePort("127.0.0.1"), ""));
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    assertEquals(
        ProxyMain.CONFIG_ERROR,
        ProxyCli.run(out, err, "--log-level", "=INFO", "--check", file.toString()));
    assertTrue(
        err.toString().startsWith("lb4j-proxy: --log-level: '=INFO' (expected:"), err.toString());
    assertEquals(
        0,
        ProxyCli.run(out, err, "--log-level", PROBE + "=DEBUG", "--check", file.toString()),
        err.toString());
    assertNull(logback(PROBE).getLevel(), "--check gives the levels back when it is done");
  }

  // ---------------------------------------------------------------- connection log, histogram

  @Test
  void accessLogOn_oneLineForEachConnection() throws Exception {
    int port = TestServer.freePort("127.0.0.1");
    Path file = dir.resolve("lb.yaml");
    Files.writeString(file, yaml(port, "logging:\n  accessLog: true\n"));
    try (LogCapture access = LogCapture.of(AccessLog.LOGGER, Level.INFO);
        StandaloneProxy p = StandaloneProxy.start(file)) {
      int clientPort;
      try (Socket c = new Socket("127.0.0.1", port)) {
        c.setSoTimeout(10_000);
        clientPort = c.getLocalPort();
        assertEquals("web-0", TestServer.readLine(c.getInputStream()));
      }
      String start = "client=127.0.0.1:" + clientPort + " ";
      String line = access.await(l -> l.startsWith(start), Duration.ofSeconds(10));
      assertTrue(line.contains(" frontend=web listener=127.0.0.1:" + port + " rule=app"), line);
      assertTrue(line.contains(" backend=web-0 backend_addr=127.0.0.2:"), line);
      assertTrue(line.contains(" bytes_to_client=6 attempts=1 termination="), line);

      Files.writeString(file, yaml(port, "")); // off
      assertNull(p.reload());
      try (Socket c = new Socket("127.0.0.1", port)) {
        c.setSoTimeout(10_000);
        assertEquals("web-0", TestServer.readLine(c.getInputStream()));
      }
      long deadline = System.nanoTime() + 10_000_000_000L;
      while (p.proxy().activeConnections() > 0 && System.nanoTime() < deadline) {
        Thread.onSpinWait(); // the unlogged connection's close, on its event loop
      }
      Files.writeString(file, yaml(port, "logging:\n  accessLog: true\n")); // on again
      assertNull(p.reload());
      int third;
      try (Socket c = new Socket("127.0.0.1", port)) {
        c.setSoTimeout(10_000);
        third = c.getLocalPort();
        assertEquals("web-0", TestServer.readLine(c.getInputStream()));
      }
      access.await(l -> l.startsWith("client=127.0.0.1:" + third + " "), Duration.ofSeconds(10));
      assertEquals(2, access.lines().size(), "the one while off was logged: " + access.lines());
    }
  }
}
