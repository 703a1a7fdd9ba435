package io.lb4j.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.lb4j.netty.FrontendOptions;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every address a config file holds is a strict IP literal, never a name to resolve; and the
 * frontend's PROXY header deadline.
 */
class ConfigLoaderAddressTest {
  private static final String EXPECTED =
      " (expected: an IPv4 or IPv6 address literal, such as 192.0.2.1 or 2001:db8::1; names are"
          + " never resolved)";

  private static String config(String frontendAddress, String backendAddress, String extra) {
    return String.join(
        "\n",
        "frontends:",
        "  - name: web",
        "    address: " + frontendAddress,
        "    acceptProxyProtocol: true",
        extra,
        "backendPools:",
        "  - name: api",
        "    backends:",
        "      - { id: api-1, address: '" + backendAddress + "' }",
        "loadBalancingRules:",
        "  - { name: http, frontend: web, frontendPort: 8080, backendPool: api }",
        "");
  }

  private static String error(String yaml) {
    return assertThrows(IllegalArgumentException.class, () -> ConfigLoader.parse("lb.yaml", yaml))
        .getMessage();
  }

  @ParameterizedTest
  @ValueSource(strings = {"zz:zz", "localhost", "lb4j-should-not-resolve", "127.1", "::1%lo"})
  void parse_addressNotALiteral_refusedWithPathValueAndExpectation(String name) {
    assertEquals(
        "lb.yaml:3: frontends[0].address: '" + name + "'" + EXPECTED,
        error(config("'" + name + "'", "127.0.0.2", "")));
    assertEquals(
        "lb.yaml:9: backendPools[0].backends[0].address: '" + name + "'" + EXPECTED,
        error(config("127.0.0.1", name, "")));
    assertEquals(
        "lb.yaml:12: admin.address: '" + name + "'" + EXPECTED,
        error(config("127.0.0.1", "127.0.0.2", "") + "admin: { address: '" + name + "' }\n"));
    assertEquals(
        "lb.yaml:5: frontends[0].allow[0]: cidr: '"
            + name
            + "/8' (expected: an address with an optional /prefix, such as 127.0.0.0/8)",
        error(config("127.0.0.1", "127.0.0.2", "    allow: ['" + name + "/8']")));
  }

  @Test
  void parse_ipv6Literals_accepted() {
    ProxyConfig c =
        ConfigLoader.parse(
            "lb.yaml",
            config("'::1'", "::ffff:127.0.0.2", "") + "admin: { address: '[::1]', port: 0 }\n");
    assertEquals("0:0:0:0:0:0:0:1", c.admin().address().getAddress().getHostAddress());
    assertEquals(
        "127.0.0.2", c.loadBalancer().pool("api").backend("api-1").address().getHostAddress());
  }

  @Test
  void parse_proxyProtocolTimeout_readDefaultedAndChecked() {
    assertEquals(
        FrontendOptions.DEFAULT_PROXY_PROTOCOL_TIMEOUT,
        ConfigLoader.parse("lb.yaml", config("127.0.0.1", "127.0.0.2", ""))
            .frontendOptions()
            .get("web")
            .proxyProtocolTimeout());
    assertEquals(
        Duration.ofMillis(1500),
        ConfigLoader.parse(
                "lb.yaml", config("127.0.0.1", "127.0.0.2", "    proxyProtocolTimeout: 1500ms"))
            .frontendOptions()
            .get("web")
            .proxyProtocolTimeout());
    assertEquals(
        "lb.yaml:5: frontends[0].proxyProtocolTimeout: 0ms (expected: 1ms-1h)",
        error(config("127.0.0.1", "127.0.0.2", "    proxyProtocolTimeout: 0s")));
    assertEquals(
        "lb.yaml:5: frontends[0].proxyProtocolTimeout: 7200000ms (expected: 1ms-1h)",
        error(config("127.0.0.1", "127.0.0.2", "    proxyProtocolTimeout: 2h")));
  }
}
