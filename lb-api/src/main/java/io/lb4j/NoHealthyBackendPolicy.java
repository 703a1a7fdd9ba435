package io.lb4j;

/**
 * What a rule does with new flows when its backends are unhealthy.
 *
 * <p>Instances are immutable and thread-safe.
 */
public enum NoHealthyBackendPolicy {
  /**
   * No new flows while no backend is healthy; each is answered "no available backend" with the
   * reasons: Azure's default ({@code noHealthyBackendsBehavior=AllProbedDown}).
   */
  FAIL_CLOSED,
  /**
   * When no backend is healthy, spread new flows over all backends that are enabled and of weight
   * above zero, as if they were healthy: AWS NLB's fail-open and Azure's {@code AllProbedUp}.
   */
  FAIL_OPEN,
  /**
   * Envoy's panic mode: when fewer than the rule's panic threshold (a percentage) of the enabled
   * backends are healthy, spread new flows over all of them, healthy or not.
   */
  PANIC
}
