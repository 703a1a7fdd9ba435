package io.lb4j;

/**
 * What happens to the established flows of a backend that becomes unhealthy.
 *
 * <p>Instances are immutable and thread-safe.
 */
public enum UnhealthyFlowPolicy {
  /** Established flows continue until they close or idle out: Azure's behaviour; the default. */
  KEEP,
  /**
   * Established flows continue until the rule's drain timeout after the backend became unhealthy,
   * then they are ended: AWS NLB's unhealthy draining interval. A backend that recovers first keeps
   * them.
   */
  CLOSE_AFTER_DRAIN_TIMEOUT
}
