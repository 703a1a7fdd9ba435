package io.lb4j.core.diagnose;

import io.lb4j.FlowKey;
import io.lb4j.HealthProbe;
import io.lb4j.LoadBalancingRule;
import io.lb4j.Rule;
import java.util.List;

/**
 * One rule as the control plane saw it.
 *
 * <p>Immutable and thread-safe.
 *
 * @param rule the rule
 * @param probe its health probe, or null
 * @param backends its backends: the pool's members in selector order, then removed backends that
 *     still hold flows
 * @param newFlows a sample of the rule's most recent new flows, or an empty list where the view was
 *     taken without flows
 */
public record RuleView(
    Rule rule, HealthProbe probe, List<BackendView> backends, List<NewFlow> newFlows) {

  /**
   * Copies the lists.
   *
   * @param rule the rule
   * @param probe its health probe, or null
   * @param backends its backends: the pool's members in selector order, then removed backends that
   *     still hold flows
   * @param newFlows a sample of the rule's most recent new flows, or an empty list where the view
   *     was taken without flows
   */
  public RuleView {
    backends = List.copyOf(backends);
    newFlows = List.copyOf(newFlows);
  }

  /** {@return the rule's name} */
  public String name() {
    return rule.name();
  }

  /** {@return the load-balancing rule, or null for an inbound NAT rule} */
  public LoadBalancingRule lb() {
    return rule instanceof LoadBalancingRule ? (LoadBalancingRule) rule : null;
  }

  /** {@return the members of the pool, without removed backends} */
  public List<BackendView> members() {
    return backends.stream().filter(BackendView::member).toList();
  }

  /**
   * One new flow of the rule, from the balancer's sample of recent new flows.
   *
   * @param flow the flow
   * @param backendId the backend it was given
   * @param atNanos when (the balancer's ticker)
   */
  public record NewFlow(FlowKey flow, String backendId, long atNanos) {}
}
