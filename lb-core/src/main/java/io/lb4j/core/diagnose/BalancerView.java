package io.lb4j.core.diagnose;

import io.lb4j.LoadBalancerConfig;
import java.time.Instant;
import java.util.List;

/**
 * What diagnostics see of a balancer: an immutable copy of every rule's backends, their health and
 * flows, taken by the control plane under its lock and handed out. Checks read nothing else — no
 * field and no lock of the balancer.
 *
 * <p>Immutable and thread-safe.
 *
 * @param at when the view was taken (wall clock)
 * @param nanos when the view was taken (the balancer's ticker), to age the new-flow samples
 * @param config the configuration in force
 * @param rules every rule, in configuration order
 */
public record BalancerView(
    Instant at, long nanos, LoadBalancerConfig config, List<RuleView> rules) {

  /**
   * Copies the rule list.
   *
   * @param at when the view was taken (wall clock)
   * @param nanos when the view was taken (the balancer's ticker), to age the new-flow samples
   * @param config the configuration in force
   * @param rules every rule, in configuration order
   */
  public BalancerView {
    rules = List.copyOf(rules);
  }

  /**
   * Returns the view of the rule named {@code name}, or null.
   *
   * @param name a rule's name
   * @return the rule's view, or null when no rule has that name
   */
  public RuleView rule(String name) {
    for (RuleView r : rules) {
      if (r.rule().name().equals(name)) {
        return r;
      }
    }
    return null;
  }
}
