package io.lb4j.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.InsecureChannelCredentials;
import io.grpc.LoadBalancerProvider;
import io.grpc.LoadBalancerRegistry;
import io.grpc.NameResolver.ConfigOrError;
import io.grpc.Status;
import io.lb4j.Backend;
import io.lb4j.BackendPool;
import io.lb4j.Frontend;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.core.L4LoadBalancer;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The policy's config: what it accepts, and errors that name the field and what was expected. */
class Lb4jPolicyConfigTest {

  private final LoadBalancerProvider provider = new Lb4jLoadBalancerProvider();

  @Test
  void parse_empty_defaultHeader() {
    assertEquals(Lb4jPolicyConfig.DEFAULT, parse(Map.of()));
    assertEquals("x-lb4j-key", Lb4jPolicyConfig.DEFAULT.keyHeader());
  }

  @Test
  void parse_keyHeader_lowerCased_emptyMeansNone() {
    assertEquals(new Lb4jPolicyConfig("x-user-id"), parse(Map.of("keyHeader", "X-User-Id")));
    Lb4jPolicyConfig none = parse(Map.of("keyHeader", ""));
    assertNull(none.headerKey());
  }

  @Test
  void parse_unknownField_namesItAndTheKnownOnes() {
    assertEquals(
        "lb4j.keyHeadr: unknown field (known fields: [keyHeader])", error(Map.of("keyHeadr", "x")));
  }

  @Test
  void parse_keyHeaderNotAString_namesTheValue() {
    assertEquals(
        "lb4j.keyHeader: 42.0 (expected: a string, a header name such as \"x-lb4j-key\", or \"\""
            + " for none)",
        error(Map.of("keyHeader", 42.0)));
  }

  @Test
  void parse_badHeaderNames_sayWhy() {
    String expected =
        " (expected: an ASCII header name of a-z 0-9 - _ ., not ending in -bin, not grpc-*, or"
            + " \"\" for none; it ";
    assertEquals(
        "lb4j.keyHeader: 'x key'" + expected + "has character ' ')",
        error(Map.of("keyHeader", "x key")));
    assertEquals(
        "lb4j.keyHeader: 'x-key-bin'" + expected + "is a binary header)",
        error(Map.of("keyHeader", "x-key-bin")));
    assertEquals(
        "lb4j.keyHeader: 'grpc-timeout'" + expected + "is reserved by gRPC)",
        error(Map.of("keyHeader", "grpc-timeout")));
  }

  @Test
  void serviceConfig_badHeader_refusedAtOnce() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Lb4jGrpc.serviceConfig(":path"));
    assertEquals(
        "keyHeader: ':path' (expected: an ASCII header name of a-z 0-9 - _ ., not ending in -bin,"
            + " not grpc-*, or \"\" for none; it has character ':')",
        e.getMessage());
  }

  @Test
  void channel_defaultServiceConfigWithBadLb4jConfig_buildFailsWithOurMessage() {
    try (L4LoadBalancer lb =
        L4LoadBalancer.builder()
            .config(
                LoadBalancerConfig.builder()
                    .frontend(Frontend.of("f", "127.0.0.1"))
                    .pool(BackendPool.of("p", Backend.of("b", "127.0.0.2", 1)))
                    .build())
            .build()) {
      Map<String, ?> bad =
          Map.of("loadBalancingConfig", List.of(Map.of("lb4j", Map.of("keyHeader", true))));
      IllegalStateException e =
          assertThrows(
              IllegalStateException.class,
              () ->
                  Lb4jGrpc.newChannelBuilder(lb, "r", InsecureChannelCredentials.create())
                      .defaultServiceConfig(bad)
                      .build());
      assertTrue(
          e.getMessage()
              .contains(
                  "description=lb4j.keyHeader: true (expected: a string, a header name such as"
                      + " \"x-lb4j-key\", or \"\" for none)"),
          e.getMessage());
    }
  }

  @Test
  void registry_findsThePolicyByName() {
    LoadBalancerProvider found = LoadBalancerRegistry.getDefaultRegistry().getProvider("lb4j");
    assertEquals(Lb4jLoadBalancerProvider.class, found.getClass());
  }

  private Lb4jPolicyConfig parse(Map<String, ?> json) {
    ConfigOrError c = provider.parseLoadBalancingPolicyConfig(json);
    assertNull(c.getError(), () -> c.getError().toString());
    return (Lb4jPolicyConfig) c.getConfig();
  }

  private String error(Map<String, ?> json) {
    ConfigOrError c = provider.parseLoadBalancingPolicyConfig(json);
    assertEquals(Status.Code.UNAVAILABLE, c.getError().getCode());
    return c.getError().getDescription();
  }
}
