package io.lb4j.grpc;

import static io.lb4j.grpc.GrpcFixture.who;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Attributes;
import io.grpc.EquivalentAddressGroup;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.NameResolverRegistry;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.lb4j.AdminState;
import io.lb4j.Backend;
import io.lb4j.BackendPool;
import io.lb4j.InboundNatRule;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancingRule;
import io.lb4j.SelectionPolicy;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Targets, the registry, and the addresses the resolver gives. */
class ResolverTest {

  private final GrpcFixture fixture = new GrpcFixture();

  @AfterEach
  void tearDown() {
    Lb4jGrpc.registered().forEach(Lb4jGrpc::unregister);
    fixture.close();
  }

  @Test
  void parse_targets() {
    assertEquals(
        new Lb4jTarget(null, "orders", "lb4j:///orders"),
        Lb4jTarget.parse(URI.create("lb4j:///orders")));
    assertEquals(
        new Lb4jTarget("shop", "orders", "lb4j://shop/orders"),
        Lb4jTarget.parse(URI.create("lb4j://shop/orders")));
    assertEquals("lb4j:///orders", Lb4jGrpc.target("orders"));
    assertEquals("lb4j://shop/orders", Lb4jGrpc.target("shop", "orders"));
  }

  @Test
  void parse_badTargets_sayWhatIsWrongAndTheForms() {
    String forms = "(expected: lb4j:///<rule> or lb4j://<name>/<rule>; it has ";
    assertEquals("target: 'lb4j:orders' " + forms + "no path)", bad("lb4j:orders"));
    assertEquals("target: 'lb4j:///' " + forms + "no rule)", bad("lb4j:///"));
    assertEquals(
        "target: 'lb4j:///a/b' "
            + forms
            + "rule 'a/b', not one path segment of letters, digits,"
            + " . _ : -)",
        bad("lb4j:///a/b"));
    assertEquals("target: 'lb4j:///a?x=1' " + forms + "a query or fragment)", bad("lb4j:///a?x=1"));
    assertEquals(
        "target: 'lb4j://h:80/a' " + forms + "user info or a port in the authority)",
        bad("lb4j://h:80/a"));
  }

  @Test
  void register_badName_refused() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Lb4jGrpc.target("a b", "r"));
    assertEquals(
        "name: 'a b' (expected: 1-63 letters, digits, . _ -, starting with a letter or digit)",
        e.getMessage());
  }

  @Test
  void provider_otherScheme_null_lb4jNeverTheDefaultScheme() {
    Lb4jNameResolverProvider p = new Lb4jNameResolverProvider();
    assertNull(p.newNameResolver(URI.create("dns:///localhost:1"), null));
    NameResolverRegistry registry = NameResolverRegistry.getDefaultRegistry();
    assertEquals(Lb4jNameResolverProvider.class, registry.getProviderForScheme("lb4j").getClass());
    assertEquals("dns", registry.getDefaultScheme());
  }

  @Test
  void registeredName_resolvesThroughTheServiceLoadedProvider() throws Exception {
    List<WhoServer> servers = fixture.startServers(2);
    Lb4jGrpc.register(
        "shop", fixture.balancer(GrpcFixture.config(SelectionPolicy.maglev(), servers)));
    ManagedChannel channel =
        fixture.track(
            Grpc.newChannelBuilder("lb4j://shop/who", InsecureChannelCredentials.create())
                .defaultLoadBalancingPolicy("lb4j") // no config: the default key header
                .build());
    for (int k = 0; k < 50; k++) {
      assertEquals(
          fixture.lb.pickByKey(GrpcFixture.RULE, "k" + k).backend().id(), who(channel, "k" + k));
      assertEquals(
          fixture.lb.pickByKey(GrpcFixture.RULE, "k" + k).backend().id(),
          who(KeyRoutingTest.withHeader(channel, "x-lb4j-key", "k" + k)));
    }
  }

  @Test
  void unregisteredName_rpcFailsNamingTheRegisteredOnes() throws Exception {
    List<WhoServer> servers = fixture.startServers(1);
    Lb4jGrpc.register(
        "shop", fixture.balancer(GrpcFixture.config(SelectionPolicy.maglev(), servers)));
    ManagedChannel channel =
        fixture.track(
            Grpc.newChannelBuilder("lb4j://shpo/who", InsecureChannelCredentials.create())
                .defaultServiceConfig(Lb4jGrpc.serviceConfig())
                .build());
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> who(channel));
    assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
    assertEquals(
        "target 'lb4j://shpo/who': no lb4j balancer is registered as 'shpo' (registered: [shop];"
            + " expected: Lb4jGrpc.register(\"shpo\", lb), or a channel from"
            + " Lb4jGrpc.newChannelBuilder(lb, rule, ...))",
        e.getStatus().getDescription());
  }

  @Test
  void lb4jAddresses_withoutTheLb4jPolicy_pickFirstIsNotLb4j_soTheHelperSetsThePolicy()
      throws Exception {
    // the default policy, pick_first, would send every RPC to one server whatever its key: what
    // newChannelBuilder's default service config prevents
    List<WhoServer> servers = fixture.startServers(3);
    fixture.balancer(GrpcFixture.config(SelectionPolicy.maglev(), servers));
    NameResolverRegistry resolvers = new NameResolverRegistry();
    resolvers.register(Lb4jGrpc.nameResolverProvider(fixture.lb));
    ManagedChannel pickFirst =
        fixture.track(
            Grpc.newChannelBuilder("lb4j:///who", InsecureChannelCredentials.create(), resolvers)
                .build());
    String first = who(pickFirst, "k0");
    boolean allOnFirst = true;
    for (int k = 0; k < 50; k++) {
      allOnFirst &= first.equals(who(pickFirst, "k" + k));
    }
    assertTrue(allOnFirst);
  }

  @Test
  void addresses_oneGroupPerEnabledMember_withItsIdAndPort() {
    LoadBalancingRule rule =
        LoadBalancingRule.builder("r")
            .frontend("f")
            .frontendPort(80)
            .backendPool("p")
            .backendPort(8080)
            .build();
    BackendPool pool =
        BackendPool.of(
            "p",
            Backend.of("a", "127.0.0.2"),
            Backend.of("b", "127.0.0.3", 9090),
            Backend.of("c", "127.0.0.4").withAdminState(AdminState.DISABLED),
            Backend.of("d", "127.0.0.5").withAdminState(AdminState.DRAINING).withWeight(0));
    assertEquals(
        List.of(
            group("a", "127.0.0.2", 8080),
            group("b", "127.0.0.3", 9090),
            group("d", "127.0.0.5", 8080)),
        Lb4jNameResolver.addresses(rule, pool));
  }

  @Test
  void addresses_inboundNatRule_itsOneBackend() {
    InboundNatRule nat =
        InboundNatRule.builder("ssh-2")
            .frontend("f")
            .frontendPort(2202)
            .backendPool("p")
            .backend("b")
            .backendPort(22)
            .build();
    BackendPool pool =
        BackendPool.of("p", Backend.of("a", "127.0.0.2"), Backend.of("b", "127.0.0.3"));
    assertEquals(List.of(group("b", "127.0.0.3", 22)), Lb4jNameResolver.addresses(nat, pool));
  }

  @Test
  void newChannelBuilder_globalRegistryUntouched() {
    fixture.balancer(
        LoadBalancerConfig.builder()
            .frontend(io.lb4j.Frontend.of("f", "127.0.0.1"))
            .pool(BackendPool.of("p", Backend.of("b", "127.0.0.2", 1)))
            .build());
    assertNotNull(
        fixture.track(
            Lb4jGrpc.newChannelBuilder(fixture.lb, "r", InsecureChannelCredentials.create())
                .build()));
    assertEquals(
        Lb4jNameResolverProvider.class,
        NameResolverRegistry.getDefaultRegistry().getProviderForScheme("lb4j").getClass());
    assertEquals(
        "Lb4jNameResolverProvider(registry)",
        NameResolverRegistry.getDefaultRegistry().getProviderForScheme("lb4j").toString());
  }

  private static EquivalentAddressGroup group(String id, String ip, int port) {
    return new EquivalentAddressGroup(
        new InetSocketAddress(io.lb4j.IpLiteral.parse(ip), port),
        Attributes.newBuilder().set(Lb4jGrpc.BACKEND_ID, id).build());
  }

  private static String bad(String target) {
    return assertThrows(IllegalArgumentException.class, () -> Lb4jTarget.parse(URI.create(target)))
        .getMessage();
  }
}
