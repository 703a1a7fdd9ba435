package io.lb4j.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lb4j.DistributionMode;
import io.lb4j.LoadBalancingRule;
import io.lb4j.SelectionAlgorithm;
import io.lb4j.netty.ProxyProtocol;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every config error names the file, the path, the value and what was expected. */
class ConfigLoaderTest {
  private static final String VALID =
      String.join(
          "\n",
          "frontends:",
          "  - name: web",
          "    address: 127.0.0.1",
          "    allow: [127.0.0.0/8]",
          "backendPools:",
          "  - name: api",
          "    backends:",
          "      - { id: api-1, address: 127.0.0.2 }",
          "  - name: db",
          "    backends:",
          "      - { id: db-1, address: 127.0.0.3, port: 5432, weight: 3 }",
          "probes:",
          "  - { name: tcp, interval: 2s, timeout: 500ms }",
          "loadBalancingRules:",
          "  - name: http",
          "    frontend: web",
          "    frontendPort: 8080",
          "    backendPool: api",
          "    backendPort: 8081",
          "    probe: tcp",
          "    distributionMode: SOURCE_IP",
          "    algorithm: ring_hash",
          "    idleTimeout: 90s",
          "    proxyProtocol: V2",
          "inboundNatRules:",
          "  - { name: db-direct, frontend: web, frontendPort: 15432, backendPool: db,"
              + " backend: db-1, backendPort: 5432 }",
          "admin: { port: 0 }",
          "shutdown: { drainTimeout: 5s }",
          "");

  private static String error(String yaml) {
    return assertThrows(IllegalArgumentException.class, () -> ConfigLoader.parse("lb.yaml", yaml))
        .getMessage();
  }

  @Test
  void parse_validFile_mirrorsTheModel() {
    ProxyConfig c = ConfigLoader.parse("lb.yaml", VALID);
    LoadBalancingRule r = c.loadBalancer().loadBalancingRule("http");
    assertEquals(DistributionMode.SOURCE_IP, r.distributionMode());
    assertEquals(SelectionAlgorithm.RING_HASH, r.selection().algorithm());
    assertEquals(Duration.ofSeconds(90), r.idleTimeout());
    assertEquals(ProxyProtocol.V2, c.ruleOptions().get("http").sendProxyProtocol());
    assertEquals(3, c.loadBalancer().pool("db").backend("db-1").weight());
    assertEquals(Duration.ofMillis(500), c.loadBalancer().probe("tcp").timeout());
    assertEquals(1, c.frontendOptions().get("web").allow().size());
    assertEquals(Duration.ofSeconds(5), c.shutdownDrain());
    assertEquals(0, c.admin().address().getPort());
    assertEquals("127.0.0.1", c.admin().address().getAddress().getHostAddress());
  }

  @Test
  void parse_unknownReference_listsWhatIsKnown() {
    assertEquals(
        "lb.yaml:18: loadBalancingRules[0].backendPool: 'web' is not defined (known pools:"
            + " [api, db])",
        error(VALID.replace("backendPool: api", "backendPool: web")));
  }

  @Test
  void parse_badValues_namePathValueAndExpectation() {
    assertEquals(
        "lb.yaml:11: backendPools[1].backends[0].weight: 70000 (expected: 0-65535)",
        error(VALID.replace("weight: 3", "weight: 70000")));
    assertEquals(
        "lb.yaml:23: loadBalancingRules[0].idleTimeout: '90 seconds' (expected: a duration"
            + " such as 250ms, 5s, 4m, 1h, 1d or PT5S)",
        error(VALID.replace("idleTimeout: 90s", "idleTimeout: 90 seconds")));
    assertEquals(
        "lb.yaml:22: loadBalancingRules[0].algorithm: 'fastest' (expected one of: [MAGLEV,"
            + " RING_HASH, RENDEZVOUS, JUMP, ROUND_ROBIN, WEIGHTED_ROUND_ROBIN, LEAST_CONNECTIONS,"
            + " WEIGHTED_LEAST_CONNECTIONS, POWER_OF_TWO_CHOICES])",
        error(VALID.replace("algorithm: ring_hash", "algorithm: fastest")));
    assertEquals(
        "lb.yaml:16: loadBalancingRules[0].frontnd: unknown key; did you mean 'frontend'?"
            + " (expected one of: [name,"
            + " frontend, protocol, frontendPort, backendPool, backendPort, probe, distributionMode,"
            + " algorithm, maglevTableSize, ringPointsPerWeight, boundedLoadFactor, idleTimeout,"
            + " tcpReset, floatingIp, unhealthyFlowPolicy, drainTimeout, noHealthyBackendPolicy,"
            + " panicThresholdPercent, outlierDetection, proxyProtocol, connectTimeout,"
            + " maxConnectAttempts, sourceAddresses, sourcePortWarnPercent])",
        error(VALID.replace("    frontend: web\n", "    frontnd: web\n")));
    assertEquals(
        "lb.yaml:15: loadBalancingRules[0].frontendPort: missing (expected: a whole" + " number)",
        error(VALID.replace("    frontendPort: 8080\n", "")));
    assertEquals(
        "lb.yaml:4: frontends[0].allow[0]: cidr: '127.0.0/8' (expected: an address with"
            + " an optional /prefix, such as 127.0.0.0/8)",
        error(VALID.replace("[127.0.0.0/8]", "[127.0.0/8]")));
    assertEquals(
        "lb.yaml:3: frontends[0].address: 'localhost' (expected: an IPv4 or IPv6 address"
            + " literal, such as 192.0.2.1 or 2001:db8::1; names are never resolved)",
        error(VALID.replace("address: 127.0.0.1", "address: localhost")));
    assertEquals(
        "lb.yaml:9: backendPools[1].name: 'api' (expected: unique among pools)\n"
            // renamed, pool db is gone: the NAT rule's reference is an error of its own
            + "lb.yaml:26: inboundNatRules[0].backendPool: 'db' is not defined (known pools: [api])",
        error(VALID.replace("name: db\n", "name: api\n")));
  }

  @Test
  void parse_whatTheProxyCannotDo_isRefusedWithTheReason() {
    String e = error(VALID.replace("    proxyProtocol: V2", "    floatingIp: true"));
    assertEquals(
        "lb.yaml:24: loadBalancingRules[0].floatingIp: true (expected: false; floating IP, or"
            + " direct server return, needs the kernel to forward packets with the frontend address"
            + " kept, and a user-space proxy terminates every connection instead: run the rule"
            + " without it, and send the PROXY protocol if backends need the client address)",
        e);
  }

  @Test
  void parse_duplicateKey_isRefusedWithLineAndPath() {
    assertEquals(
        "lb.yaml:20: loadBalancingRules[0].backendPort: duplicate key",
        error(
            VALID.replace(
                "    backendPort: 8081\n", "    backendPort: 8081\n    backendPort: 8082\n")));
    assertEquals(
        "lb.yaml:13: probes[0].interval: duplicate key",
        error(VALID.replace("interval: 2s,", "interval: 2s, interval: 3s,")));
    assertEquals("lb.yaml:29: admin: duplicate key", error(VALID + "admin: { port: 1 }\n"));
  }

  @Test
  void parse_notYaml_saysWhere() {
    String e = error("frontends: [\n  - name: web\n");
    assertEquals(true, e.startsWith("lb.yaml: not valid YAML at line "), e);
  }

  @Test
  void load_missingFile_saysWhichAndWhy() {
    String e =
        assertThrows(
                IllegalArgumentException.class,
                () -> ConfigLoader.load(Path.of("/nonexistent/lb.yaml")))
            .getMessage();
    assertEquals("cannot read /nonexistent/lb.yaml: no such file", e);
  }

  @Test
  void parse_durations_takeTheUnitsPeopleWrite() {
    ProxyConfig c =
        ConfigLoader.parse(
            "lb.yaml",
            VALID
                .replace("idleTimeout: 90s", "idleTimeout: PT90S")
                .replace("drainTimeout: 5s", "drainTimeout: 1m"));
    assertEquals(Duration.ofSeconds(90), c.loadBalancer().loadBalancingRule("http").idleTimeout());
    assertEquals(Duration.ofMinutes(1), c.shutdownDrain());
    assertEquals(
        "lb.yaml:28: shutdown.drainTimeout: '5 s' (expected: a duration such as 250ms, 5s, 4m, 1h,"
            + " 1d or PT5S)",
        error(VALID.replace("drainTimeout: 5s", "drainTimeout: 5 s")));
  }

  @Test
  void parse_adminDisabled_hasNoAdmin() {
    assertNull(
        ConfigLoader.parse(
                "lb.yaml", VALID.replace("admin: { port: 0 }", "admin: { enabled: false }"))
            .admin());
  }

  /** A bound, not a benchmark: what took 44 s of CPU before must be refused well within it. */
  private static final Duration FAST = Duration.ofSeconds(2);

  /** Returns the refusal of {@code yaml}, asserting that it came within {@link #FAST}. */
  private static String fastError(String yaml) {
    long start = System.nanoTime();
    String e = error(yaml);
    Duration took = Duration.ofNanos(System.nanoTime() - start);
    assertTrue(
        took.compareTo(FAST) < 0, "refused after " + took + " (expected: under " + FAST + ")");
    return e;
  }

  @Test
  void parse_tenMegabyteScalar_refusedFastWithTheLimit() {
    String yaml = VALID.replace("name: web\n", "name: " + "x".repeat(10_000_000) + "\n");
    assertEquals(
        "lb.yaml: " + yaml.length() + " characters (expected: at most 1048576 bytes)",
        fastError(yaml));
  }

  @Test
  void load_tenMegabyteFile_refusedBeforeReadingWithTheLimit(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("lb.yaml");
    Files.writeString(file, VALID.replace("name: web\n", "name: " + "x".repeat(10_000_000) + "\n"));
    long start = System.nanoTime();
    String e =
        assertThrows(IllegalArgumentException.class, () -> ConfigLoader.load(file)).getMessage();
    Duration took = Duration.ofNanos(System.nanoTime() - start);
    assertEquals("lb.yaml: " + Files.size(file) + " bytes (expected: at most 1048576 bytes)", e);
    assertTrue(took.compareTo(FAST) < 0, "refused after " + took);
  }

  @Test
  void parse_longLineUnderTheSizeLimit_refusedBeforeParsingWithLineAndLimit() {
    String yaml =
        VALID.replace("    address: 127.0.0.1\n", "    address: " + "1".repeat(900_000) + "\n");
    assertEquals(
        "lb.yaml:3: a line of 900013 characters (expected: at most 65536 characters on a line)",
        fastError(yaml));
  }

  @Test
  void parse_longValueOverManyLines_refusedWithPathAndLimit() {
    String yaml =
        VALID.replace(
            "  - { name: tcp, interval: 2s, timeout: 500ms }\n",
            "  - name: tcp\n    path: |\n" + ("      " + "p".repeat(99) + "\n").repeat(700));
    assertEquals(
        "lb.yaml:14: probes[0].path: a value of 70000 characters (expected: at most 65536"
            + " characters)",
        fastError(yaml));
  }

  @Test
  void parse_thousandDeepFlowDocument_refusedFastWithPathAndLimit() {
    String yaml = VALID + "proxy: { seed: " + "[".repeat(1000) + "]".repeat(1000) + " }\n";
    assertEquals(
        "lb.yaml:29: proxy.seed"
            + "[0]".repeat(15)
            + ": nested deeper than 16"
            + " levels (expected: at most 16 levels of mappings and lists)",
        fastError(yaml));
  }

  @Test
  void parse_thousandDeepBlockDocument_refusedFastWithTheLimit() {
    StringBuilder deep = new StringBuilder("proxy:\n");
    for (int i = 1; i <= 1000; i++) {
      deep.append("  ".repeat(i)).append("k:\n");
    }
    String e = fastError(VALID + deep);
    assertTrue(
        e.endsWith(
            "nested deeper than 16 levels (expected: at most 16 levels of mappings and lists)"),
        e);
    assertTrue(e.startsWith("lb.yaml:"), e);
  }

  @Test
  void parse_proxyReusePort_onByDefaultReadAndChecked() {
    assertTrue(ConfigLoader.parse("lb.yaml", VALID).reusePort());
    assertFalse(ConfigLoader.parse("lb.yaml", VALID + "proxy: { reusePort: false }\n").reusePort());
    assertEquals(
        "lb.yaml:29: proxy.reusePort: 2 (expected: true or false)",
        error(VALID + "proxy: { reusePort: 2 }\n"));
  }

  @Test
  void parse_adminSecurityKeys_readAndChecked() {
    ProxyConfig c =
        ConfigLoader.parse(
            "lb.yaml",
            VALID.replace(
                "admin: { port: 0 }",
                "admin: { port: 0, token: 0123456789abcdef, allowedHosts: [LB.example.com],"
                    + " idleTimeout: 5s }"));
    assertEquals("0123456789abcdef", c.admin().token());
    assertEquals(java.util.Set.of("lb.example.com"), c.admin().allowedHosts());
    assertEquals(Duration.ofSeconds(5), c.admin().idleTimeout());
    assertTrue(c.toString().contains("token=(set)") && !c.toString().contains("0123456789abcdef"));
    assertEquals(
        AdminOptions.DEFAULT_IDLE_TIMEOUT,
        ConfigLoader.parse("lb.yaml", VALID).admin().idleTimeout());
    assertEquals(
        "lb.yaml:27: admin.token: 6 characters (expected: at least 16 characters, no spaces around,"
            + " such as the output of openssl rand -hex 16)",
        error(VALID.replace("admin: { port: 0 }", "admin: { port: 0, token: secret }")));
    assertEquals(
        "lb.yaml:27: admin.allowedHosts: 'lb.example.com:9901' (expected: a host name or address"
            + " without port, such as lb.example.com)",
        error(
            VALID.replace(
                "admin: { port: 0 }",
                "admin: { port: 0, allowedHosts: ['lb.example.com:9901'] }")));
    assertEquals(
        "lb.yaml:27: admin.idleTimeout: PT0S (expected: a positive duration such as 60s)",
        error(VALID.replace("admin: { port: 0 }", "admin: { port: 0, idleTimeout: 0s }")));
  }
}
