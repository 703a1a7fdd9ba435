package io.lb4j.core.select;

import io.lb4j.core.hash.Hash64;
import io.lb4j.spi.BackendSelector;
import java.util.Arrays;
import java.util.function.IntUnaryOperator;

/**
 * The power of two choices (Mitzenmacher, "The Power of Two Choices in Randomized Load Balancing",
 * 2001; Envoy's least-request with {@code choice_count=2}, HAProxy's {@code random(2)}).
 *
 * <p>Two eligible members are drawn from the flow hash, each in proportion to its weight (a binary
 * search of the cumulative weights), the second distinct from the first; the one with fewer active
 * flows per unit of weight wins, the first on a tie. A pick costs O(log N).
 */
final class PowerOfTwoChoicesSelector implements BackendSelector {
  /** Draws of the second candidate before it is taken as the next member after the first. */
  static final int MAX_REDRAWS = 8;

  private final int[] owners;
  private final long[] weights;
  private final long[] cumulative;
  private final IntUnaryOperator active;

  PowerOfTwoChoicesSelector(Members m, IntUnaryOperator active) {
    this.owners = m.eligibleCallerIndices();
    this.weights = new long[owners.length];
    this.cumulative = new long[owners.length];
    int k = 0;
    long sum = 0;
    for (int s = 0; s < m.size; s++) {
      if (m.weights[s] > 0) {
        weights[k] = m.weights[s];
        sum += m.weights[s];
        cumulative[k++] = sum;
      }
    }
    this.active = active;
  }

  /** Returns the member whose cumulative-weight interval holds {@code point}. */
  private int draw(long point) {
    int i = Arrays.binarySearch(cumulative, point + 1);
    return i >= 0 ? i : -i - 1;
  }

  @Override
  public int select(long hash) {
    int n = owners.length;
    if (n <= 1) {
      return n == 0 ? NONE : owners[0];
    }
    long total = cumulative[n - 1];
    int first = draw(reduce(hash, total));
    long h = hash;
    int second = first;
    for (int attempt = 1; second == first && attempt <= MAX_REDRAWS; attempt++) {
      h = Hash64.mix64(h);
      second = draw(reduce(h, total));
    }
    if (second == first) {
      second = first + 1 < n ? first + 1 : 0; // one member holds nearly all the weight
    }
    long a1 = active.applyAsInt(owners[first]);
    long a2 = active.applyAsInt(owners[second]);
    return a2 * weights[first] < a1 * weights[second] ? owners[second] : owners[first];
  }

  /** Returns {@code ⌊hash × n / 2^64⌋} for a {@code long} n, the hash read as unsigned. */
  private static long reduce(long hash, long n) {
    return Math.multiplyHigh(hash, n) + ((hash >> 63) & n);
  }
}
