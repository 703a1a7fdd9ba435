package io.lb4j.core.diagnose;

/**
 * One troubleshooting check over one rule: reads the view, adds findings. Implementations are small
 * and independent; {@link Diagnostician} runs each over every rule.
 *
 * <p>Implementations are stateless and thread-safe.
 */
interface RuleCheck {

  /** Runs the check over {@code rule}, adding what it finds to {@code out}. */
  void run(BalancerView view, RuleView rule, Findings out);
}
