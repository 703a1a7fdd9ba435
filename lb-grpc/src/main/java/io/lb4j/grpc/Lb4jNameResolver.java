package io.lb4j.grpc;

import io.grpc.Attributes;
import io.grpc.EquivalentAddressGroup;
import io.grpc.NameResolver;
import io.grpc.Status;
import io.grpc.StatusOr;
import io.grpc.SynchronizationContext;
import io.lb4j.AdminState;
import io.lb4j.Backend;
import io.lb4j.BackendPool;
import io.lb4j.InboundNatRule;
import io.lb4j.LoadBalancer;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.Rule;
import java.util.ArrayList;
import java.util.List;

/**
 * Resolves an {@code lb4j:} target to the members of its rule's pool and follows them: one {@link
 * EquivalentAddressGroup} per backend, at the backend's address and port (the rule's backend port
 * unless the backend overrides it), with {@link Lb4jGrpc#BACKEND_ID}. A backend {@link
 * AdminState#DISABLED} is left out, so its subchannel shuts down as lb4j ends its flows; an inbound
 * NAT rule resolves to its one backend.
 *
 * <p>The balancer is found when the resolver starts — the bound one, or the registered one — and
 * kept. Each {@link io.lb4j.LoadBalancerListener#onReconfigured} of it re-reads the balancer's
 * configuration in the synchronization context and publishes the addresses when they changed. A
 * missing registration or an undefined rule is an {@link Status#UNAVAILABLE} error, which the
 * channel retries with backoff through {@link #refresh()}; a rule defined later is published at
 * once.
 *
 * <p>The resolution result's attributes carry the balancer and the rule to the lb4j policy; the
 * resolver gives no service config, so the channel's default service config chooses the policy.
 *
 * <p>Not thread-safe: gRPC calls it in its synchronization context, and balancer events are moved
 * there.
 */
final class Lb4jNameResolver extends NameResolver {

  /** The balancer, for the lb4j policy. */
  @ResolutionResultAttr
  static final Attributes.Key<LoadBalancer> BALANCER = Attributes.Key.create("lb4j.balancer");

  /** The rule's name, for the lb4j policy. */
  @ResolutionResultAttr
  static final Attributes.Key<String> RULE = Attributes.Key.create("lb4j.rule");

  private final Lb4jTarget target;
  private final LoadBalancer bound;
  private final SynchronizationContext syncContext;

  // In the synchronization context only.
  private Listener2 listener;
  private LoadBalancer balancer;
  private Runnable unsubscribe;
  private List<EquivalentAddressGroup> published;
  private boolean shutdown;

  /**
   * Creates a resolver of {@code target} in {@code bound}, or in the registry when {@code bound} is
   * null or the target names a registration.
   */
  Lb4jNameResolver(Lb4jTarget target, LoadBalancer bound, SynchronizationContext syncContext) {
    this.target = target;
    this.bound = bound;
    this.syncContext = syncContext;
  }

  @Override
  public String getServiceAuthority() {
    return target.rule();
  }

  @Override
  public void start(Listener2 listener) {
    if (this.listener != null) {
      throw new IllegalStateException("resolver of " + target + " already started");
    }
    this.listener = listener;
    resolve();
  }

  @Override
  public void refresh() {
    if (listener != null) {
      resolve();
    }
  }

  @Override
  public void shutdown() {
    shutdown = true;
    if (unsubscribe != null) {
      unsubscribe.run();
      unsubscribe = null;
    }
  }

  private void resolve() {
    if (shutdown) {
      return;
    }
    if (balancer == null) {
      LoadBalancer found = find();
      if (found == null) {
        return;
      }
      balancer = found;
      unsubscribe =
          BalancerEvents.subscribe(
              found,
              new BalancerEvents.Subscriber() {
                @Override
                public void reconfigured() {
                  syncContext.execute(() -> publish(true));
                }

                @Override
                public void healthChanged(String rule) {}
              });
    }
    publish(false);
  }

  private LoadBalancer find() {
    if (target.name() == null && bound != null) {
      return bound;
    }
    String name = target.name() == null ? Lb4jGrpc.DEFAULT_NAME : target.name();
    LoadBalancer found = Lb4jGrpc.lookup(name);
    if (found == null) {
      listener.onError(
          Status.UNAVAILABLE.withDescription(
              "target '"
                  + target
                  + "': no lb4j balancer is registered as '"
                  + name
                  + "' (registered: "
                  + Lb4jGrpc.registeredNames()
                  + "; expected: Lb4jGrpc.register(\""
                  + name
                  + "\", lb), or a channel from Lb4jGrpc.newChannelBuilder(lb, rule, ...))"));
    }
    return found;
  }

  /** Publishes the rule's members; when {@code onlyIfChanged}, only if they changed. */
  private void publish(boolean onlyIfChanged) {
    if (shutdown) {
      return;
    }
    LoadBalancerConfig config = balancer.config();
    Rule rule = config.rule(target.rule());
    if (rule == null) {
      published = null;
      listener.onError(
          Status.UNAVAILABLE.withDescription(
              "target '"
                  + target
                  + "': rule '"
                  + target.rule()
                  + "' is not defined (known rules: "
                  + config.ruleNames()
                  + ")"));
      return;
    }
    List<EquivalentAddressGroup> addresses = addresses(rule, config.pool(rule.backendPool()));
    if (onlyIfChanged && addresses.equals(published)) {
      return;
    }
    published = addresses;
    listener.onResult2(
        ResolutionResult.newBuilder()
            .setAddressesOrError(StatusOr.fromValue(addresses))
            .setAttributes(
                Attributes.newBuilder().set(BALANCER, balancer).set(RULE, rule.name()).build())
            .build());
  }

  /** Returns one address group per member of {@code pool} that {@code rule} can send to. */
  static List<EquivalentAddressGroup> addresses(Rule rule, BackendPool pool) {
    List<EquivalentAddressGroup> out = new ArrayList<>(pool.backends().size());
    for (Backend b : pool.backends()) {
      boolean member = !(rule instanceof InboundNatRule nat) || nat.backend().equals(b.id());
      if (member && b.adminState() != AdminState.DISABLED) {
        out.add(
            new EquivalentAddressGroup(
                b.target(rule.backendPort()),
                Attributes.newBuilder().set(Lb4jGrpc.BACKEND_ID, b.id()).build()));
      }
    }
    return out;
  }
}
