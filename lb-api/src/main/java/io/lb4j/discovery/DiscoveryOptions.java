package io.lb4j.discovery;

/**
 * How a balancer applies a {@link MembershipSource}'s answers to a pool.
 *
 * <p>The guard: an answer that would empty the pool, or remove more than {@code maxRemovedPercent}
 * of the members of the last good answer at once, is not applied unless allowed here (the first
 * answer replaces the configuration's members, whatever their number); the last good members stay
 * and the source is reported as {@code REFUSED} with the reason (Envoy kept every host after a bad
 * NXDOMAIN, envoy#2691; this is the same protection, on purpose and said). Defaults: an empty
 * answer is refused, and any smaller removal is applied.
 *
 * <p>Instances are immutable and thread-safe.
 *
 * @param applyEmptyAnswer whether an explicitly empty answer of a healthy source empties the pool
 * @param maxRemovedPercent the largest share of the pool's members one answer may remove, 1-100
 */
public record DiscoveryOptions(boolean applyEmptyAnswer, int maxRemovedPercent) {

  /** Empty answers refused, any other removal applied. */
  public static final DiscoveryOptions DEFAULT = new DiscoveryOptions(false, 100);

  /**
   * Validates the fields.
   *
   * @param applyEmptyAnswer whether an explicitly empty answer of a healthy source empties the pool
   * @param maxRemovedPercent the largest share of the pool's members one answer may remove, 1-100
   */
  public DiscoveryOptions {
    if (maxRemovedPercent < 1 || maxRemovedPercent > 100) {
      throw new IllegalArgumentException(
          "maxRemovedPercent: " + maxRemovedPercent + " (expected: 1-100)");
    }
  }
}
