package io.lb4j.grpc;

import io.grpc.Attributes;
import io.grpc.CallOptions;
import io.grpc.ChannelCredentials;
import io.grpc.EquivalentAddressGroup;
import io.grpc.Grpc;
import io.grpc.ManagedChannelBuilder;
import io.grpc.NameResolverProvider;
import io.grpc.NameResolverRegistry;
import io.lb4j.LoadBalancer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * gRPC-java over an lb4j balancer: a channel whose target names an lb4j rule gets one subchannel
 * per member of the rule's pool and sends each RPC to the backend lb4j picks for it.
 *
 * <pre>{@code
 * LoadBalancer lb = L4LoadBalancer.builder().config(config).build();
 * ManagedChannel channel =
 *     Lb4jGrpc.newChannelBuilder(lb, "orders", InsecureChannelCredentials.create()).build();
 * OrdersGrpc.newBlockingStub(channel)
 *     .withOption(Lb4jGrpc.KEY, "user-42") // every RPC of user 42 on one backend
 *     .getOrder(request);
 * }</pre>
 *
 * <p>Two providers do the work, both found by gRPC through {@link java.util.ServiceLoader}:
 *
 * <ul>
 *   <li>{@link Lb4jNameResolverProvider}, scheme {@value #SCHEME}: target {@code lb4j:///<rule>} or
 *       {@code lb4j://<name>/<rule>} resolves to the rule's pool members, one {@link
 *       EquivalentAddressGroup} per backend carrying its id ({@link #BACKEND_ID}), and follows
 *       membership as it changes;
 *   <li>{@link Lb4jLoadBalancerProvider}, policy {@value #POLICY_NAME}: picks per RPC through the
 *       rule's selector by the RPC's key ({@link #KEY_HASH}, {@link #KEY}, or the header {@value
 *       #DEFAULT_KEY_HEADER}), or through its scheduler without a key, and holds a {@link
 *       io.lb4j.Lease} until the RPC's stream closes.
 * </ul>
 *
 * <p>The resolver finds its balancer in the registry of this class ({@link #register(String,
 * LoadBalancer)}), or is bound to one ({@link #nameResolverProvider(LoadBalancer)}, {@link
 * #newChannelBuilder}). The policy must be chosen by the channel: {@link #newChannelBuilder} does,
 * otherwise pass {@link #serviceConfig()} to {@link ManagedChannelBuilder#defaultServiceConfig}.
 * The lb4j policy refuses addresses from any other resolver, and the resolver gives no service
 * config of its own. See {@code docs/embedding-grpc.md}.
 *
 * <p>Thread-safe.
 */
public final class Lb4jGrpc {

  /** The name-resolver scheme: {@code lb4j}. */
  public static final String SCHEME = "lb4j";

  /** The load-balancing policy's name in service configs: {@code lb4j}. */
  public static final String POLICY_NAME = "lb4j";

  /** The name an unnamed target ({@code lb4j:///<rule>}) looks up in the registry. */
  public static final String DEFAULT_NAME = "default";

  /** The request header the key is read from unless the policy config says otherwise. */
  public static final String DEFAULT_KEY_HEADER = "x-lb4j-key";

  /**
   * An RPC's key: RPCs with equal keys go to one backend, picked by {@code lb.keyHash(key)} through
   * the rule's selector, so a key given here, in the key header, or to {@link
   * LoadBalancer#pickByKey(String, CharSequence)} picks alike. Set it with {@code
   * stub.withOption(Lb4jGrpc.KEY, "user-42")}.
   */
  public static final CallOptions.Key<String> KEY = CallOptions.Key.create("lb4j.key");

  /**
   * An RPC's key hash, as {@link LoadBalancer#keyHash} computed it: for {@code long} and {@code
   * byte[]} keys, or a hash computed once for many RPCs ({@code stub.withOption(KEY_HASH,
   * lb.keyHash(userId))}). Taken before {@link #KEY} and the header.
   */
  public static final CallOptions.Key<Long> KEY_HASH = CallOptions.Key.create("lb4j.keyHash");

  /** The lb4j backend id of an {@link EquivalentAddressGroup} the lb4j resolver produces. */
  @EquivalentAddressGroup.Attr
  public static final Attributes.Key<String> BACKEND_ID = Attributes.Key.create("lb4j.backendId");

  private static final ConcurrentMap<String, LoadBalancer> registry = new ConcurrentHashMap<>();

  private Lb4jGrpc() {}

  /**
   * Registers {@code lb} as {@code name} for targets {@code lb4j://<name>/<rule>}, replacing the
   * balancer registered as {@code name} before. A channel binds to the balancer it finds when its
   * resolver starts; replacing or removing a registration does not move channels already running.
   *
   * @param name the authority of the targets, {@code <name>} in {@code lb4j://<name>/<rule>}
   * @param lb the balancer
   * @throws IllegalArgumentException if {@code name} is not a valid URI authority of letters,
   *     digits, {@code . _ -}
   * @throws NullPointerException if {@code lb} is null
   */
  public static void register(String name, LoadBalancer lb) {
    Objects.requireNonNull(lb, "lb");
    registry.put(Lb4jTarget.checkName(name), lb);
  }

  /**
   * Registers {@code lb} as {@value #DEFAULT_NAME}, for targets {@code lb4j:///<rule>}.
   *
   * @param lb the balancer
   */
  public static void register(LoadBalancer lb) {
    register(DEFAULT_NAME, lb);
  }

  /**
   * Removes the registration of {@code name} if it is {@code lb}; returns whether it was. New
   * channels to {@code lb4j://<name>/...} then fail until another balancer is registered.
   *
   * @param name the registered name
   * @param lb the balancer expected under that name
   * @return true if {@code lb} was registered as {@code name} and is no longer
   */
  public static boolean unregister(String name, LoadBalancer lb) {
    return registry.remove(name, lb);
  }

  /** {@return the registered names and their balancers, sorted by name; a copy} */
  public static Map<String, LoadBalancer> registered() {
    return new TreeMap<>(registry);
  }

  static LoadBalancer lookup(String name) {
    return registry.get(name);
  }

  static List<String> registeredNames() {
    List<String> names = new ArrayList<>(registry.keySet());
    names.sort(null);
    return names;
  }

  /**
   * Returns a name-resolver provider bound to {@code lb}: {@code lb4j:///<rule>} resolves in it,
   * {@code lb4j://<name>/<rule>} in the registry. Register it in a {@link NameResolverRegistry}, or
   * let {@link #newChannelBuilder} do it.
   *
   * @param lb the balancer that {@code lb4j:///<rule>} targets resolve in
   * @return the provider of scheme {@code lb4j}
   */
  public static NameResolverProvider nameResolverProvider(LoadBalancer lb) {
    return new Lb4jNameResolverProvider(Objects.requireNonNull(lb, "lb"));
  }

  /**
   * Returns a channel builder for rule {@code rule} of {@code lb}: target {@code lb4j:///<rule>}
   * resolved by a resolver bound to {@code lb} (a registry of its own, the global one untouched),
   * and the default service config {@link #serviceConfig()}. Set another key header with {@code
   * .defaultServiceConfig(Lb4jGrpc.serviceConfig("x-user-id"))}. The transport is the one found on
   * the class path ({@code grpc-netty-shaded}, {@code grpc-netty}, {@code grpc-okhttp}).
   *
   * @param lb the balancer
   * @param rule the name of one of its load-balancing rules
   * @param credentials the channel's credentials, such as {@code
   *     InsecureChannelCredentials.create()}
   * @return the channel builder
   * @throws IllegalArgumentException if {@code rule} is not a valid URI path segment
   */
  public static ManagedChannelBuilder<?> newChannelBuilder(
      LoadBalancer lb, String rule, ChannelCredentials credentials) {
    NameResolverRegistry resolvers = new NameResolverRegistry();
    resolvers.register(nameResolverProvider(lb));
    return Grpc.newChannelBuilder(target(rule), credentials, resolvers)
        .defaultServiceConfig(serviceConfig());
  }

  /**
   * Returns the target of rule {@code rule} of the balancer registered as {@value #DEFAULT_NAME} or
   * bound to the resolver: {@code lb4j:///<rule>}.
   *
   * @param rule a rule's name
   * @return the target
   * @throws IllegalArgumentException if {@code rule} is not a valid URI path segment
   */
  public static String target(String rule) {
    return SCHEME + ":///" + Lb4jTarget.checkRule(rule);
  }

  /**
   * Returns the target of rule {@code rule} of the balancer registered as {@code name}: {@code
   * lb4j://<name>/<rule>}.
   *
   * @param name a registered name
   * @param rule a rule's name
   * @return the target
   * @throws IllegalArgumentException if {@code name} or {@code rule} is not valid
   */
  public static String target(String name, String rule) {
    return SCHEME + "://" + Lb4jTarget.checkName(name) + "/" + Lb4jTarget.checkRule(rule);
  }

  /**
   * Returns the service config that selects the lb4j policy with the key header {@value
   * #DEFAULT_KEY_HEADER}: {@code {"loadBalancingConfig": [{"lb4j": {}}]}}.
   *
   * @return the service config, as {@code defaultServiceConfig} takes it
   */
  public static Map<String, ?> serviceConfig() {
    return Map.of("loadBalancingConfig", List.of(Map.of(POLICY_NAME, Map.of())));
  }

  /**
   * Returns the service config that selects the lb4j policy reading the key from header {@code
   * keyHeader}, or from no header when it is empty: {@code {"loadBalancingConfig": [{"lb4j":
   * {"keyHeader": "x-user-id"}}]}}.
   *
   * @param keyHeader the metadata key that carries a call's key, or an empty string for none
   * @return the service config, as {@code defaultServiceConfig} takes it
   * @throws IllegalArgumentException if {@code keyHeader} is not a valid ASCII header name
   */
  public static Map<String, ?> serviceConfig(String keyHeader) {
    String header = Lb4jPolicyConfig.checkKeyHeader(keyHeader);
    return Map.of(
        "loadBalancingConfig",
        List.of(Map.of(POLICY_NAME, Map.of(Lb4jPolicyConfig.KEY_HEADER, header))));
  }
}
