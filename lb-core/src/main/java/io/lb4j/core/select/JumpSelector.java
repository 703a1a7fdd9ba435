package io.lb4j.core.select;

import io.lb4j.core.hash.Hash64;
import io.lb4j.spi.BackendSelector;

/**
 * Jump consistent hash (Lamping and Veach, "A Fast, Minimal Memory, Consistent Hash Algorithm",
 * 2014) over every member in key order, with tombstones and weights by rejection.
 *
 * <p>Jump hashes a flow to a bucket in {@code [0, n)}; bucket {@code b} is the member at sorted
 * position {@code b}. With all members eligible and of equal weight the answer is exactly Guava's
 * {@code Hashing.consistentHash(hash, n)}. Otherwise the bucket is accepted with probability {@code
 * weight / maxWeight} (0 for an ineligible member, a tombstone) decided by the hash, and a rejected
 * flow jumps again with a derived hash. After {@link #MAX_ATTEMPTS} rejections the flow takes the
 * next eligible bucket after its first one.
 *
 * <p>What this gives: a member that becomes ineligible (unhealthy, draining, disabled, weight 0)
 * but stays in the list moves only its own flows; adding or removing the member that sorts last
 * moves only the ideal 1/n; adding or removing any other member renumbers the buckets after it and
 * moves more flows, as jump hash itself allows removing only the last bucket. The answer is a pure
 * function of the keys, weights and hash, so two instances with the same members agree.
 */
final class JumpSelector implements BackendSelector {
  /** How many times a flow jumps again before it falls back to the next eligible bucket. */
  static final int MAX_ATTEMPTS = 64;

  /** The linear congruential generator's multiplier, from the paper (and Guava). */
  private static final long LCG_MULTIPLIER = 2862933555777941757L;

  private final int[] order;
  private final double[] acceptance;
  private final boolean simple;
  private final int eligible;

  JumpSelector(Members m) {
    this.order = m.order;
    this.eligible = m.eligible;
    this.simple = m.size > 0 && m.eligible == m.size && m.uniformWeights();
    this.acceptance = new double[m.size];
    for (int s = 0; s < m.size; s++) {
      acceptance[s] = m.maxWeight == 0 ? 0 : (double) m.weights[s] / m.maxWeight;
    }
  }

  /** Returns the jump consistent hash of {@code key} over {@code buckets}, as Guava computes it. */
  static int jump(long key, int buckets) {
    long state = key;
    int candidate = 0;
    while (true) {
      state = LCG_MULTIPLIER * state + 1;
      double next = ((double) ((int) (state >>> 33) + 1)) / 0x1.0p31;
      int jumped = (int) ((candidate + 1) / next);
      if (jumped >= 0 && jumped < buckets) {
        candidate = jumped;
      } else {
        return candidate;
      }
    }
  }

  @Override
  public int select(long hash) {
    if (simple) { // every member eligible, equal weights: Guava's answer, nothing else to read
      return order[jump(hash, order.length)];
    }
    if (eligible == 0) {
      return NONE;
    }
    int n = order.length;
    int first = jump(hash, n);
    int bucket = first;
    long h = hash;
    for (int attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      double a = acceptance[bucket];
      if (a == 1.0 || (a > 0 && Hash64.unitInterval(Hash64.mix64(h)) < a)) {
        return order[bucket];
      }
      h = BackendSelector.rehash(hash, attempt);
      bucket = jump(h, n);
    }
    for (int k = 1; k <= n; k++) {
      int b = first + k < n ? first + k : first + k - n;
      if (acceptance[b] > 0) {
        return order[b];
      }
    }
    return NONE;
  }
}
