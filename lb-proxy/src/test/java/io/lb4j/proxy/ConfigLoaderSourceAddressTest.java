package io.lb4j.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.lb4j.netty.RuleOptions;
import io.lb4j.netty.SourceAddress;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** A rule's {@code sourceAddresses} and {@code sourcePortWarnPercent}: strict, never resolved. */
class ConfigLoaderSourceAddressTest {
  private static String config(String ruleExtra) {
    return String.join(
        "\n",
        "frontends:",
        "  - { name: web, address: 127.0.0.1 }",
        "backendPools:",
        "  - name: api",
        "    backends:",
        "      - { id: api-1, address: 127.0.0.2, port: 8081 }",
        "loadBalancingRules:",
        "  - { name: http, frontend: web, frontendPort: 8080, backendPool: api" + ruleExtra + " }",
        "inboundNatRules:",
        "  - { name: ssh, frontend: web, frontendPort: 2201, backendPool: api, backend: api-1,"
            + " backendPort: 22"
            + ruleExtra
            + " }",
        "");
  }

  /**
   * Returns the refusal of {@code tail} (a path below the rule, and the error) in both rules: each
   * kind reads the options, and every error of a file is reported.
   */
  private static String inBothRules(String tail) {
    return "lb.yaml:8: loadBalancingRules[0]." + tail + "\nlb.yaml:10: inboundNatRules[0]." + tail;
  }

  private static String error(String yaml) {
    return assertThrows(IllegalArgumentException.class, () -> ConfigLoader.parse("lb.yaml", yaml))
        .getMessage();
  }

  @Test
  void parse_sourceAddresses_readForBothRuleKinds() {
    ProxyConfig c =
        ConfigLoader.parse(
            "lb.yaml",
            config(
                ", sourceAddresses: [127.0.0.11, '127.0.0.12:40000-40999', '[::1]'],"
                    + " sourcePortWarnPercent: 70"));
    for (String rule : List.of("http", "ssh")) {
      RuleOptions o = c.ruleOptions().get(rule);
      assertEquals(
          List.of(
              SourceAddress.parse("127.0.0.11"),
              SourceAddress.parse("127.0.0.12:40000-40999"),
              SourceAddress.parse("::1")),
          o.sourceAddresses());
      assertEquals(70, o.sourcePortWarnPercent());
    }
  }

  @Test
  void parse_unquotedRangeInFlowList_readAsOneAddress() {
    RuleOptions o =
        ConfigLoader.parse("lb.yaml", config(", sourceAddresses: [127.0.0.11:40000-40999]"))
            .ruleOptions()
            .get("http");
    assertEquals(List.of(SourceAddress.parse("127.0.0.11:40000-40999")), o.sourceAddresses());
  }

  @Test
  void parse_noSourceAddresses_defaults() {
    RuleOptions o = ConfigLoader.parse("lb.yaml", config("")).ruleOptions().get("http");
    assertEquals(List.of(), o.sourceAddresses());
    assertEquals(RuleOptions.DEFAULT_SOURCE_PORT_WARN_PERCENT, o.sourcePortWarnPercent());
  }

  @ParameterizedTest
  @ValueSource(strings = {"localhost", "zz:zz", "127.0.0.011", "127.0.0.11:40000"})
  void parse_sourceAddressNotALiteral_refusedWithPathValueAndExpectation(String text) {
    assertEquals(
        inBothRules(
            "sourceAddresses[1]: '"
                + text
                + "' (expected: an IP literal, optionally with a port range: 127.0.0.11,"
                + " 127.0.0.11:40000-40099, [2001:db8::11]:40000-40099)"),
        error(config(", sourceAddresses: [127.0.0.11, '" + text + "']")));
  }

  @Test
  void parse_badRangeDuplicateOrPercent_refusedWithPath() {
    assertEquals(
        inBothRules(
            "sourceAddresses[0]: '127.0.0.11:50000-40000' (expected: a"
                + " port range LOW-HIGH with 1 <= LOW <= HIGH <= 65535)"),
        error(config(", sourceAddresses: ['127.0.0.11:50000-40000']")));
    assertEquals(
        inBothRules(
            "sourceAddresses: [127.0.0.11, 127.0.0.11:40000-40001]"
                + " (expected: each address once; 127.0.0.11 is listed twice)"),
        error(config(", sourceAddresses: [127.0.0.11, '127.0.0.11:40000-40001']")));
    assertEquals(
        inBothRules("sourcePortWarnPercent: 101 (expected: 1-100)"),
        error(config(", sourcePortWarnPercent: 101")));
    assertEquals(
        inBothRules("sourceAddresses: '127.0.0.11' (expected: a list)"),
        error(config(", sourceAddresses: 127.0.0.11")));
  }
}
