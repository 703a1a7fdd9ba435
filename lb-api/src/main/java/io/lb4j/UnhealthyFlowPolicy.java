package io.lb4j;

/**
 * What happens to the established flows of a backend that becomes unhealthy, or is removed from its
 * pool.
 *
 * <p>Instances are immutable and thread-safe.
 */
public enum UnhealthyFlowPolicy {
  /** Established flows continue until they close or idle out: Azure's behaviour; the default. */
  KEEP,
  /**
   * Established flows continue until the rule's drain timeout after the backend became unhealthy or
   * was removed from the pool, then they are ended: AWS NLB's unhealthy draining interval and
   * deregistration delay. A backend that recovers first keeps them. Turned on by a reload, the
   * deadline starts then for backends already unhealthy or removed.
   */
  CLOSE_AFTER_DRAIN_TIMEOUT
}
