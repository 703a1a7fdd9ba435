package io.lb4j.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lb4j.netty.TestServer;
import java.io.IOException;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --check} like {@code haproxy -c}: every error of a file at once, each with its line, a
 * "did you mean" for a misspelt key, the count last and exit code 2; a start and a reload refuse
 * the same file with the same list.
 */
class ConfigCheckTest {
  @TempDir Path dir;

  /** Valid, with {@code shutdown} first: errors come in the file's order, not the reader's. */
  private static String valid(int frontendPort) {
    return String.join(
        "\n",
        "shutdown:", //                                                   1
        "  drainTimeout: 10s", //                                         2
        "frontends:", //                                                  3
        "  - { name: web, address: 127.0.0.1 }", //                       4
        "backendPools:", //                                               5
        "  - name: web", //                                               6
        "    backends:", //                                               7
        "      - { id: web-1, address: 127.0.0.2, port: 8081 }", //       8
        "      - { id: web-2, address: 127.0.0.3, port: 8081 }", //       9
        "loadBalancingRules:", //                                         10
        "  - name: http", //                                              11
        "    frontend: web", //                                           12
        "    frontendPort: " + frontendPort, //                           13
        "    backendPool: web", //                                        14
        "    idleTimeout: 4m", //                                         15
        "admin: { port: 0 }", //                                          16
        "");
  }

  /** Three errors in three sections: a duration, a backend's port, a misspelt key. */
  private static String threeErrors(int frontendPort) {
    return valid(frontendPort)
        .replace("drainTimeout: 10s", "drainTimeout: 10 s")
        .replace("address: 127.0.0.3, port: 8081", "address: 127.0.0.3, port: 70000")
        .replace("idleTimeout: 4m", "idleTimout: 4m");
  }

  private static final List<String> THREE_ERRORS =
      List.of(
          "lb.yaml:2: shutdown.drainTimeout: '10 s' (expected: a duration such as 250ms, 5s, 4m,"
              + " 1h, 1d or PT5S)",
          "lb.yaml:9: backendPools[0].backends[1].port: 70000 (expected: 0-65535)",
          "lb.yaml:15: loadBalancingRules[0].idleTimout: unknown key; did you mean"
              + " 'idleTimeout'? (expected one of: [name, frontend, protocol, frontendPort,"
              + " backendPool, backendPort, probe, distributionMode, algorithm, maglevTableSize,"
              + " ringPointsPerWeight, boundedLoadFactor, idleTimeout, tcpReset, floatingIp,"
              + " unhealthyFlowPolicy, drainTimeout, noHealthyBackendPolicy,"
              + " panicThresholdPercent, outlierDetection, proxyProtocol, connectTimeout,"
              + " maxConnectAttempts, sourceAddresses, sourcePortWarnPercent])");

  private Path write(String yaml) throws IOException {
    Path file = dir.resolve("lb.yaml");
    Files.writeString(file, yaml);
    return file;
  }

  @Test
  void parse_threeErrorsInThreeSections_allReportedInFileOrderWithLines() {
    ConfigException e =
        assertThrows(ConfigException.class, () -> ConfigLoader.parse("lb.yaml", threeErrors(8080)));
    assertEquals(THREE_ERRORS, e.errors());
    assertEquals(String.join("\n", THREE_ERRORS), e.getMessage());
    assertEquals("3 errors", e.count());
  }

  @Test
  void check_threeErrors_printsEachOnItsLineThenTheCount_exit2() throws Exception {
    Path file = write(threeErrors(TestServer.freePort("127.0.0.1")));
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    assertEquals(ProxyMain.CONFIG_ERROR, ProxyCli.run(out, err, "--check", file.toString()));
    assertEquals(String.join("\n", THREE_ERRORS) + "\n3 errors\n", err.toString());
    assertEquals("", out.toString());
  }

  @Test
  void config_threeErrors_printsTheSameList_exit2() throws Exception {
    Path file = write(threeErrors(TestServer.freePort("127.0.0.1")));
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    assertEquals(ProxyMain.CONFIG_ERROR, ProxyCli.run(out, err, "--config", file.toString()));
    assertEquals(String.join("\n", THREE_ERRORS) + "\n3 errors\n", err.toString());
  }

  @Test
  void check_oneError_countsOne() throws Exception {
    Path file = write(valid(8080).replace("idleTimeout: 4m", "idleTimeout: 4 m"));
    StringWriter err = new StringWriter();
    assertEquals(
        ProxyMain.CONFIG_ERROR, ProxyCli.run(new StringWriter(), err, "--check", file.toString()));
    assertEquals(
        "lb.yaml:15: loadBalancingRules[0].idleTimeout: '4 m' (expected: a duration such as 250ms,"
            + " 5s, 4m, 1h, 1d or PT5S)\n1 error\n",
        err.toString());
  }

  @Test
  void check_shippedExample_isOk() {
    Path shipped = Path.of("..", "examples", "lb4j-demo.yaml");
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    assertEquals(0, ProxyCli.run(out, err, "--check", shipped.toString()), err.toString());
    assertEquals(
        shipped
            + ": OK (1 frontends, 1 pools, 1 probes, 1 load-balancing rules, 1 inbound NAT rules)\n",
        out.toString());
    assertEquals("", err.toString());
  }

  @Test
  void reload_threeErrors_refusedWithTheSameList_runningConfigurationStays() throws Exception {
    int port = TestServer.freePort("127.0.0.1");
    Path file = write(valid(port));
    try (StandaloneProxy p = StandaloneProxy.start(file)) {
      ProxyConfig before = p.config();
      Files.writeString(file, threeErrors(port));
      assertEquals(String.join("\n", THREE_ERRORS), p.reload());
      assertEquals(before, p.config());
      Files.writeString(file, valid(port).replace("idleTimeout: 4m", "idleTimeout: 5m"));
      assertEquals(null, p.reload());
    }
  }

  @Test
  void parse_everyDuplicateKey_reportedWithTheOtherErrors_atTheSecondOccurrence() {
    String yaml =
        valid(8080)
            .replace("  drainTimeout: 10s\n", "  drainTimeout: 10s\n  drainTimeout: 20s\n")
            .replace(
                "{ name: web, address: 127.0.0.1 }",
                "{ name: web, address: 127.0.0.1," + " name: web2 }")
            .replace("backendPool: web\n", "backendPool: wbe\n");
    ConfigException e =
        assertThrows(ConfigException.class, () -> ConfigLoader.parse("lb.yaml", yaml));
    assertEquals(
        List.of(
            "lb.yaml:3: shutdown.drainTimeout: duplicate key",
            "lb.yaml:5: frontends[0].name: duplicate key",
            // the last occurrence is the one read: web2, so web is not defined
            "lb.yaml:13: loadBalancingRules[0].frontend: 'web' is not defined; did you mean"
                + " 'web2'? (known frontends: [web2])",
            "lb.yaml:15: loadBalancingRules[0].backendPool: 'wbe' is not defined; did you mean"
                + " 'web'? (known pools: [web])"),
        e.errors());
  }

  @Test
  void parse_invalidPool_rulesNamingItAreNotRefusedForThat() {
    // the pool is invalid (a backend's address), so the rule's reference to it is not checked:
    // "'web' is not defined" would be false, and the one error says what to fix
    ConfigException e =
        assertThrows(
            ConfigException.class,
            () ->
                ConfigLoader.parse(
                    "lb.yaml", valid(8080).replace("address: 127.0.0.2", "address: web-1.test")));
    assertEquals(1, e.errors().size(), e.getMessage());
    assertTrue(e.errors().get(0).startsWith("lb.yaml:8: backendPools[0].backends[0].address:"));
  }

  @Test
  void parse_misspeltRequiredKey_oneErrorWithTheSuggestion_noMissing() {
    ConfigException e =
        assertThrows(
            ConfigException.class,
            () ->
                ConfigLoader.parse(
                    "lb.yaml", valid(8080).replace("backendPool: web", "bakcendPool: web")));
    assertEquals(1, e.errors().size(), e.getMessage());
    assertTrue(
        e.errors()
            .get(0)
            .startsWith(
                "lb.yaml:14: loadBalancingRules[0].bakcendPool: unknown key; did you mean"
                    + " 'backendPool'? (expected one of: ["),
        e.getMessage());
  }

  @Test
  void parse_twoErrorsInOneRule_bothReported() {
    ConfigException e =
        assertThrows(
            ConfigException.class,
            () ->
                ConfigLoader.parse(
                    "lb.yaml",
                    valid(8080)
                        .replace("frontendPort: 8080", "frontendPort: eighty")
                        .replace("idleTimeout: 4m", "idleTimeout: 4m\n    algorithm: fastest")));
    assertEquals(
        List.of(
            "lb.yaml:13: loadBalancingRules[0].frontendPort: 'eighty' (expected: a whole number)",
            "lb.yaml:16: loadBalancingRules[0].algorithm: 'fastest' (expected one of: [MAGLEV,"
                + " RING_HASH, RENDEZVOUS, JUMP, ROUND_ROBIN, WEIGHTED_ROUND_ROBIN,"
                + " LEAST_CONNECTIONS, WEIGHTED_LEAST_CONNECTIONS, POWER_OF_TWO_CHOICES])"),
        e.errors());
  }

  @Test
  void parse_refusedAddress_theFrontendsOtherValuesAreStillChecked() {
    ConfigException e =
        assertThrows(
            ConfigException.class,
            () ->
                ConfigLoader.parse(
                    "lb.yaml",
                    valid(8080)
                        .replace(
                            "{ name: web, address: 127.0.0.1 }",
                            "{ name: web, address: localhost, maxConnections: -1 }")));
    assertEquals(2, e.errors().size(), e.getMessage());
    assertTrue(e.errors().get(0).startsWith("lb.yaml:4: frontends[0].address: 'localhost'"));
    assertTrue(
        e.errors().get(1).startsWith("lb.yaml:4: frontends[0].maxConnections: -1"), e.getMessage());
  }

  @Test
  void parse_twoRulesOnOnePort_theSecondIsRefusedAtItsPort() {
    String second = "  - { name: again, frontend: web, frontendPort: 8080, backendPool: web }\n";
    ConfigException e =
        assertThrows(
            ConfigException.class,
            () -> ConfigLoader.parse("lb.yaml", valid(8080).replace("admin:", second + "admin:")));
    assertEquals(
        List.of(
            "lb.yaml:16: loadBalancingRules[1].frontendPort: TCP port 8080 on 127.0.0.1"
                + " (frontend 'web') is already used by loadBalancingRules[0] 'http' (expected:"
                + " one rule per frontend address, protocol and port)"),
        e.errors());
  }

  @Test
  void parse_valueSpanningLines_staysOneLineInTheReport() {
    String yaml = valid(8080).replace("address: 127.0.0.1 }", "address: \"127.0.0.1\\nx\" }");
    ConfigException e =
        assertThrows(ConfigException.class, () -> ConfigLoader.parse("lb.yaml", yaml));
    assertEquals(1, e.errors().size(), e.getMessage());
    assertFalse(e.getMessage().contains("\n"), e.getMessage());
    assertTrue(
        e.getMessage().startsWith("lb.yaml:4: frontends[0].address: '127.0.0.1\\nx' (expected:"),
        e.getMessage());
  }
}
