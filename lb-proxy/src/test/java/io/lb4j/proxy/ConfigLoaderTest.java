package io.lb4j.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.lb4j.DistributionMode;
import io.lb4j.LoadBalancingRule;
import io.lb4j.SelectionAlgorithm;
import io.lb4j.netty.ProxyProtocol;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

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
    assertEquals(0, c.admin().getPort());
    assertEquals("127.0.0.1", c.admin().getAddress().getHostAddress());
  }

  @Test
  void parse_unknownReference_listsWhatIsKnown() {
    assertEquals(
        "lb.yaml: loadBalancingRules[0].backendPool: 'web' is not defined (known pools:"
            + " [api, db])",
        error(VALID.replace("backendPool: api", "backendPool: web")));
  }

  @Test
  void parse_badValues_namePathValueAndExpectation() {
    assertEquals(
        "lb.yaml: backendPools[1].backends[0].weight: 70000 (expected: 0-65535)",
        error(VALID.replace("weight: 3", "weight: 70000")));
    assertEquals(
        "lb.yaml: loadBalancingRules[0].idleTimeout: '90 seconds' (expected: a duration"
            + " such as 250ms, 5s, 4m, 1h, 1d or PT5S)",
        error(VALID.replace("idleTimeout: 90s", "idleTimeout: 90 seconds")));
    assertEquals(
        "lb.yaml: loadBalancingRules[0].algorithm: 'fastest' (expected one of: [MAGLEV,"
            + " RING_HASH, RENDEZVOUS, JUMP, ROUND_ROBIN, WEIGHTED_ROUND_ROBIN, LEAST_CONNECTIONS,"
            + " WEIGHTED_LEAST_CONNECTIONS, POWER_OF_TWO_CHOICES])",
        error(VALID.replace("algorithm: ring_hash", "algorithm: fastest")));
    assertEquals(
        "lb.yaml: loadBalancingRules[0].frontnd: unknown key (expected one of: [name,"
            + " frontend, protocol, frontendPort, backendPool, backendPort, probe, distributionMode,"
            + " algorithm, maglevTableSize, ringPointsPerWeight, boundedLoadFactor, idleTimeout,"
            + " tcpReset, floatingIp, unhealthyFlowPolicy, drainTimeout, noHealthyBackendPolicy,"
            + " panicThresholdPercent, outlierDetection, proxyProtocol, connectTimeout,"
            + " maxConnectAttempts])",
        error(VALID.replace("    frontend: web\n", "    frontnd: web\n")));
    assertEquals(
        "lb.yaml: loadBalancingRules[0].frontendPort: missing (expected: a whole" + " number)",
        error(VALID.replace("    frontendPort: 8080\n", "")));
    assertEquals(
        "lb.yaml: frontends[0].allow[0]: cidr: '127.0.0/8' (expected: an address with"
            + " an optional /prefix, such as 127.0.0.0/8)",
        error(VALID.replace("[127.0.0.0/8]", "[127.0.0/8]")));
    assertEquals(
        "lb.yaml: frontends[0].address: 'localhost' (expected: an IPv4 or IPv6 address"
            + " literal, such as 192.0.2.1 or 2001:db8::1; names are never resolved)",
        error(VALID.replace("address: 127.0.0.1", "address: localhost")));
    assertEquals(
        "lb.yaml: backendPools[1].name: 'api' (expected: unique among pools)",
        error(VALID.replace("name: db\n", "name: api\n")));
  }

  @Test
  void parse_whatTheProxyCannotDo_isRefusedWithTheReason() {
    String e = error(VALID.replace("    proxyProtocol: V2", "    floatingIp: true"));
    assertEquals(
        "lb.yaml: rule 'http': floatingIp: true (expected: false; floating IP, or"
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
        "lb.yaml: shutdown.drainTimeout: '5 s' (expected: a duration such as 250ms, 5s, 4m, 1h,"
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
}
