package io.lb4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

class LoadBalancerConfigTest {

  private static LoadBalancerConfig.Builder base() {
    return LoadBalancerConfig.builder()
        .frontend(Frontend.of("web", "127.0.0.1"))
        .frontend(Frontend.of("admin", "127.0.0.5"))
        .pool(BackendPool.of("api", Backend.of("api-1", "127.0.0.2")))
        .pool(
            BackendPool.of("db", Backend.of("db-1", "127.0.0.3"), Backend.of("db-2", "127.0.0.4")))
        .probe(HealthProbe.tcp("tcp"));
  }

  private static LoadBalancingRule.Builder rule(String name, int port) {
    return LoadBalancingRule.builder(name).frontend("web").frontendPort(port).backendPool("api");
  }

  private static void refused(String message, Executable executable) {
    assertEquals(message, assertThrows(IllegalArgumentException.class, executable).getMessage());
  }

  @Test
  void build_unknownReferences_listWhatIsKnown() {
    refused(
        "loadBalancingRules[1].backendPool: 'web' is not defined (known pools: [api, db])",
        () ->
            base()
                .rule(rule("a", 80).build())
                .rule(rule("b", 81).backendPool("web").build())
                .build());
    refused(
        "loadBalancingRules[0].frontend: 'public' is not defined (known frontends: [admin,"
            + " web])",
        () -> base().rule(rule("a", 80).frontend("public").build()).build());
    refused(
        "loadBalancingRules[0].probe: 'http' is not defined (known probes: [tcp])",
        () -> base().rule(rule("a", 80).probe("http").build()).build());
    refused(
        "inboundNatRules[0].backend: 'db-9' is not defined in pool 'db' (known backends:"
            + " [db-1, db-2])",
        () ->
            base()
                .natRule(
                    InboundNatRule.builder("ssh")
                        .frontend("web")
                        .frontendPort(2222)
                        .backendPool("db")
                        .backend("db-9")
                        .backendPort(22)
                        .build())
                .build());
  }

  @Test
  void build_sameFrontendProtocolPort_refused() {
    refused(
        "loadBalancingRules[1]: TCP port 80 on 127.0.0.1 (frontend 'web') is already used by"
            + " loadBalancingRules[0] 'a' (expected: one rule per frontend address, protocol and"
            + " port)",
        () -> base().rule(rule("a", 80).build()).rule(rule("b", 80).build()).build());
    refused(
        "inboundNatRules[0]: TCP port 80 on 127.0.0.1 (frontend 'web') is already used by"
            + " loadBalancingRules[0] 'a' (expected: one rule per frontend address, protocol and"
            + " port)",
        () ->
            base()
                .rule(rule("a", 80).build())
                .natRule(
                    InboundNatRule.builder("n")
                        .frontend("web")
                        .frontendPort(80)
                        .backendPool("db")
                        .backend("db-1")
                        .build())
                .build());
    // other protocol, other port or other address: fine
    LoadBalancerConfig ok =
        base()
            .rule(rule("a", 80).build())
            .rule(rule("b", 80).protocol(Protocol.UDP).build())
            .rule(rule("c", 80).frontend("admin").build())
            .build();
    assertEquals(3, ok.loadBalancingRules().size());
  }

  @Test
  void build_duplicateNames_refused() {
    refused(
        "pools[1].name: 'api' (expected: unique among pools)",
        () ->
            LoadBalancerConfig.builder()
                .pool(BackendPool.of("api"))
                .pool(BackendPool.of("api"))
                .build());
    refused(
        "inboundNatRules[0].name: 'a' (expected: unique among load-balancing and NAT rules)",
        () ->
            base()
                .rule(rule("a", 80).build())
                .natRule(
                    InboundNatRule.builder("a")
                        .frontend("web")
                        .frontendPort(2222)
                        .backendPool("db")
                        .backend("db-1")
                        .build())
                .build());
  }

  @Test
  void withPool_unknownPool_refused() {
    LoadBalancerConfig config = base().build();
    refused(
        "pool: 'web' is not defined (known pools: [api, db])",
        () -> config.withPool(BackendPool.of("web")));
    assertEquals(0, config.withPool(BackendPool.of("db")).pool("db").backends().size());
  }

  @Test
  void rules_bothKinds_inConfigurationOrderAndByName() {
    InboundNatRule ssh =
        InboundNatRule.builder("ssh-db-2")
            .frontend("web")
            .frontendPort(50002)
            .backendPool("db")
            .backend("db-2")
            .backendPort(22)
            .build();
    LoadBalancerConfig config =
        base()
            .natRule(ssh)
            .rule(rule("a", 80).build())
            .rule(rule("b", 81).backendPool("db").build())
            .build();
    assertEquals(java.util.List.of("a", "b", "ssh-db-2"), config.ruleNames());
    assertEquals(ssh, config.rule("ssh-db-2"));
    assertEquals(config.loadBalancingRule("b"), config.rule("b"));
    assertEquals(null, config.rule("c"));
    assertEquals(
        java.util.List.of("b", "ssh-db-2"),
        config.rulesOfPool("db").stream().map(Rule::name).toList());
    String kinds = "";
    for (Rule r : config.rules()) {
      kinds += (r instanceof InboundNatRule ? "N" : "L") + r.backendPort();
    }
    assertEquals("L80L81N22", kinds);
  }

  @Test
  void withRule_sameName_replacedInPlace_newName_added() {
    LoadBalancerConfig config =
        base().rule(rule("a", 80).build()).rule(rule("b", 81).build()).build();
    LoadBalancerConfig moved = config.withRule(rule("a", 90).build());
    assertEquals(java.util.List.of("a", "b"), moved.ruleNames());
    assertEquals(90, moved.rule("a").frontendPort());
    assertEquals(
        java.util.List.of("a", "b", "c"), config.withRule(rule("c", 82).build()).ruleNames());
    refused(
        "loadBalancingRules[1]: TCP port 80 on 127.0.0.1 (frontend 'web') is already used by"
            + " loadBalancingRules[0] 'a' (expected: one rule per frontend address, protocol and"
            + " port)",
        () -> config.withRule(rule("b", 80).build()));
  }
}
