package io.lb4j.grpc;

import io.grpc.LoadBalancer;
import io.grpc.LoadBalancerProvider;
import io.grpc.NameResolver.ConfigOrError;
import io.grpc.Status;
import java.util.Map;

/**
 * gRPC's load-balancing policy {@value Lb4jGrpc#POLICY_NAME}: one subchannel per member of the lb4j
 * rule the channel's {@code lb4j:} target names, and per RPC the backend lb4j picks — by the RPC's
 * key through the rule's selector (Maglev, ring hash, rendezvous, jump, with bounded load), or by
 * the rule's scheduler without a key — held as an lb4j lease until the RPC's stream closes.
 *
 * <p>Found by gRPC through {@link java.util.ServiceLoader}; chosen by a service config:
 *
 * <pre>{@code
 * {"loadBalancingConfig": [{"lb4j": {"keyHeader": "x-lb4j-key"}}]}
 * }</pre>
 *
 * <p>Its one setting, {@code keyHeader}, is the request header an RPC's key is read from ({@value
 * Lb4jGrpc#DEFAULT_KEY_HEADER} when absent, none when {@code ""}). A config with another field or a
 * bad value is refused with a message that names it, e.g. {@code lb4j.keyHeader: 'x-key-bin'
 * (expected: an ASCII header name ...; it is a binary header)}.
 *
 * <p>The policy works with the lb4j name resolver only, which hands it the balancer and rule; other
 * addresses are refused with {@link Status#UNAVAILABLE}.
 *
 * <p>Thread-safe.
 */
public final class Lb4jLoadBalancerProvider extends LoadBalancerProvider {

  /** The default priority of gRPC's policies. */
  private static final int PRIORITY = 5;

  /** Creates the provider; for {@link java.util.ServiceLoader}. */
  public Lb4jLoadBalancerProvider() {}

  @Override
  public boolean isAvailable() {
    return true;
  }

  @Override
  public int getPriority() {
    return PRIORITY;
  }

  @Override
  public String getPolicyName() {
    return Lb4jGrpc.POLICY_NAME;
  }

  @Override
  public LoadBalancer newLoadBalancer(LoadBalancer.Helper helper) {
    return new Lb4jPolicy(helper);
  }

  /**
   * Parses the policy's config; an error names the field, its value and what was expected.
   *
   * @return the config, or an {@link Status#UNAVAILABLE} error (as gRPC's own policies answer)
   */
  @Override
  public ConfigOrError parseLoadBalancingPolicyConfig(Map<String, ?> rawConfig) {
    try {
      return ConfigOrError.fromConfig(Lb4jPolicyConfig.parse(rawConfig));
    } catch (IllegalArgumentException e) {
      return ConfigOrError.fromError(
          Status.UNAVAILABLE.withDescription(e.getMessage()).withCause(e));
    }
  }
}
