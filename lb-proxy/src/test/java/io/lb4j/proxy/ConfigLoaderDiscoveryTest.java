package io.lb4j.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lb4j.discovery.DiscoveryOptions;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A pool's {@code discovery:} block: the type looked up among the providers on the class path (the
 * test's {@link ScriptedSourceProvider}, type {@code test}), the provider's settings passed on and
 * checked by it, the guard read by lb4j; every error names the file, the line, the path, the value
 * and what was expected.
 */
class ConfigLoaderDiscoveryTest {
  /** Line 7 is the discovery block (where a missing setting is reported), its settings from 8. */
  private static String yaml(String discovery) {
    return String.join(
        "\n",
        "frontends:",
        "  - { name: web, address: 127.0.0.1 }",
        "backendPools:",
        "  - name: static",
        "    backends: [{ id: s-1, address: 127.0.0.2, port: 80 }]",
        "  - name: web",
        "    discovery:",
        discovery,
        "loadBalancingRules:",
        "  - { name: app, frontend: web, frontendPort: 8080, backendPool: web, backendPort: 80 }",
        "");
  }

  private static String error(String yaml) {
    return assertThrows(IllegalArgumentException.class, () -> ConfigLoader.parse("lb.yaml", yaml))
        .getMessage();
  }

  @Test
  void parse_sourceBlock_settingsWithoutLb4jKeysAndTheGuard() {
    ProxyConfig c =
        ConfigLoader.parse(
            "lb.yaml",
            yaml(
                String.join(
                    "\n",
                    "      type: test",
                    "      name: web.test", // a host name: legal inside a source's settings
                    "      members: [127.0.0.5:8080, '[::1]:8080']",
                    "      generation: 3",
                    "      applyEmptyAnswer: true",
                    "      maxRemovedPercent: 50")));
    PoolDiscovery d = c.discovery().get("web");
    assertEquals("test", d.type());
    assertEquals(
        Map.of(
            "name",
            "web.test",
            "members",
            List.of("127.0.0.5:8080", "[::1]:8080"),
            "generation",
            3),
        d.settings());
    assertEquals(new DiscoveryOptions(true, 50), d.options());
    assertEquals(Map.of("web", d), c.discovery(), "static pools have no entry");
    assertEquals(0, c.loadBalancer().pool("web").backends().size(), "no backends: none to start");
    assertThrows(UnsupportedOperationException.class, () -> d.settings().put("x", 1));
  }

  @Test
  void parse_defaultsAndStatic() {
    ProxyConfig c = ConfigLoader.parse("lb.yaml", yaml("      { type: test, name: a }"));
    assertEquals(DiscoveryOptions.DEFAULT, c.discovery().get("web").options());
    assertEquals(
        Map.of(), ConfigLoader.parse("lb.yaml", yaml("      { type: static }")).discovery());
    assertEquals(Map.of(), ConfigLoader.parse("lb.yaml", yaml("      {}")).discovery());
  }

  @Test
  void parse_sourceWithBackends_theyAreTheMembersToStartWith() {
    String y =
        yaml("      { type: test, name: a }")
            .replace(
                "    discovery:\n",
                "    backends: [{ id: w-1, address: 127.0.0.3, port: 80 }]\n    discovery:\n");
    ProxyConfig c = ConfigLoader.parse("lb.yaml", y);
    assertEquals("w-1", c.loadBalancer().pool("web").backends().get(0).id());
    assertEquals("test", c.discovery().get("web").type());
  }

  @Test
  void parse_equalBlocksAreEqual_aChangedSettingIsNot() {
    PoolDiscovery a =
        ConfigLoader.parse(
                "lb.yaml", yaml("      { type: test, name: a, members: [127.0.0.5:80] }"))
            .discovery()
            .get("web");
    PoolDiscovery same =
        ConfigLoader.parse(
                "lb.yaml",
                yaml("      type: test\n      name: a\n      members:\n        - 127.0.0.5:80"))
            .discovery()
            .get("web");
    assertEquals(a, same, "the same block in another YAML style");
    PoolDiscovery other =
        ConfigLoader.parse(
                "lb.yaml",
                yaml("      { type: test, name: a, members: [127.0.0.5:80], generation: 2 }"))
            .discovery()
            .get("web");
    assertNotEquals(a, other);
    PoolDiscovery guard =
        ConfigLoader.parse(
                "lb.yaml",
                yaml(
                    "      { type: test, name: a, members: [127.0.0.5:80], maxRemovedPercent: 10 }"))
            .discovery()
            .get("web");
    assertNotEquals(a, guard, "the guard is part of the block");
  }

  /**
   * The types on this class path, as the proxy lists them: static, then every provider found with
   * ServiceLoader (lb-dns, lb-xds, lb-kubernetes in the jar; the test's own), sorted.
   */
  private static String types() {
    java.util.TreeSet<String> found = new java.util.TreeSet<>();
    java.util.ServiceLoader.load(io.lb4j.discovery.MembershipSourceProvider.class)
        .forEach(p -> found.add(p.type()));
    assertTrue(found.containsAll(java.util.List.of("dns", "xds", "test")), found.toString());
    return "[static, " + String.join(", ", found) + "]";
  }

  @Test
  void parse_unknownType_namesPathLineValueAndKnownTypes() {
    assertEquals(
        "lb.yaml:8: backendPools[1].discovery.type: 'dnss'; did you mean 'dns'? (expected one of: "
            + types()
            + ";"
            + " a type other than static needs its module on the class path, such as lb-dns for"
            + " dns)",
        error(yaml("      type: dnss\n      name: web.test")));
  }

  @Test
  void parse_settingsWithoutType_orStaticWithSettings_refused() {
    assertEquals(
        "lb.yaml:7: backendPools[1].discovery.type: missing (expected one of: "
            + types()
            + ";"
            + " settings such as 'name' belong to a source's type)",
        error(yaml("      name: web.test")));
    assertEquals(
        "lb.yaml:9: backendPools[1].discovery.name: unknown key (expected one of: [type])",
        error(yaml("      type: static\n      name: web.test")));
    assertEquals(
        "lb.yaml:7: backendPools[1].discovery: 'dns' (expected: a mapping)",
        error(yaml("      dns").replace("    discovery:\n      dns", "    discovery: dns")));
  }

  @Test
  void parse_badGuard_namesPathLineAndExpectation() {
    assertEquals(
        "lb.yaml:10: backendPools[1].discovery.maxRemovedPercent: 0 (expected: 1-100)",
        error(yaml("      type: test\n      name: a\n      maxRemovedPercent: 0")));
    assertEquals(
        "lb.yaml:9: backendPools[1].discovery.applyEmptyAnswer: 'yes please' (expected: true or"
            + " false)",
        error(yaml("      type: test\n      applyEmptyAnswer: yes please\n      name: a")));
  }

  @Test
  void parse_providerRefusesItsSettings_atThePathItNames() {
    assertEquals(
        "lb.yaml:7: backendPools[1].discovery.name: missing (expected: a name such as web.test)",
        error(yaml("      type: test\n      generation: 1")));
    assertEquals(
        "lb.yaml:12: backendPools[1].discovery.members[1]: 'web.test:80' (expected: an IP"
            + " literal and port such as 127.0.0.5:8080)",
        error(
            yaml(
                "      type: test\n      name: a\n      members:\n        - 127.0.0.5:80\n"
                    + "        - web.test:80")));
    assertEquals(
        "lb.yaml:10: backendPools[1].discovery.colour: unknown key (expected one of: [name,"
            + " members, generation, refuse])",
        error(yaml("      type: test\n      name: a\n      colour: blue")));
  }

  /** Providers word the setting as {@code port:}, {@code discovery.port:} or {@code 'port':}. */
  @Test
  void parse_providerRefusal_settingNamedInAnyOfTheUsualForms_orNone() {
    for (String named : List.of("port", "discovery.port", "'port'")) {
      assertEquals(
          "lb.yaml:10: backendPools[1].discovery.port: 0 (expected: 1-65535)",
          error(
              yaml(
                  "      type: test\n      refuse: \""
                      + named
                      + ": 0 (expected: 1-65535)\"\n      port: 0")),
          named);
    }
    assertEquals(
        "lb.yaml:7: backendPools[1].discovery: type 'test': cannot read /etc/kubeconfig: no"
            + " such file",
        error(yaml("      type: test\n      refuse: 'cannot read /etc/kubeconfig: no such file'")));
  }

  @Test
  void parse_hostNameInBackends_stillRefused_evenWithASource() {
    String y =
        yaml("      { type: test, name: web.test }")
            .replace(
                "    discovery:\n",
                "    backends: [{ id: w-1, address: web.test, port: 80 }]\n    discovery:\n");
    assertEquals(
        "lb.yaml:7: backendPools[1].backends[0].address: 'web.test' (expected: an IPv4 or IPv6"
            + " address literal, such as 192.0.2.1 or 2001:db8::1; names are never resolved)",
        error(y));
  }

  @Test
  void parse_inboundNatRuleOnADiscoveredPool_refused() {
    String y =
        yaml("      { type: test, name: a }")
            + "inboundNatRules:\n"
            + "  - { name: ssh, frontend: web, frontendPort: 2222, backendPool: web,"
            + " backend: w-1, backendPort: 22 }\n";
    assertEquals(
        "lb.yaml:12: inboundNatRules[0].backendPool: 'web' takes its members from discovery type"
            + " 'test' (expected: a pool whose members are its backends: an inbound NAT rule names"
            + " one backend, and a source may remove any member)",
        error(y));
  }

  @Test
  void parse_checkingSettings_startsNothing() {
    ConfigLoader.parse("lb.yaml", yaml("      { type: test, name: check-only }"));
    List<ScriptedSourceProvider.ScriptedSource> made =
        ScriptedSourceProvider.MADE.get("check-only");
    assertTrue(!made.isEmpty(), "the provider checked the settings");
    assertEquals(List.of(), ScriptedSourceProvider.started("check-only"));
    assertTrue(made.stream().allMatch(s -> s.closed), "and its source was closed");
  }
}
