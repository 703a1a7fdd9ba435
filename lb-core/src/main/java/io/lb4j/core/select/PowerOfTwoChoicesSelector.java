package io.lb4j.core.select;

import io.lb4j.core.hash.Hash64;
import io.lb4j.spi.BackendSelector;
import java.util.function.IntUnaryOperator;

/**
 * The power of two choices (Mitzenmacher, "The Power of Two Choices in Randomized Load Balancing",
 * 2001; Envoy's least-request with {@code choice_count=2}, HAProxy's {@code random(2)}).
 *
 * <p>Two distinct eligible members are drawn from the flow hash; the one with fewer active flows
 * per unit of weight wins, the first on a tie. A pick costs O(1).
 */
final class PowerOfTwoChoicesSelector implements BackendSelector {
  private final int[] owners;
  private final long[] weights;
  private final IntUnaryOperator active;

  PowerOfTwoChoicesSelector(Members m, IntUnaryOperator active) {
    this.owners = m.eligibleCallerIndices();
    this.weights = new long[owners.length];
    int k = 0;
    for (int s = 0; s < m.size; s++) {
      if (m.weights[s] > 0) {
        weights[k++] = m.weights[s];
      }
    }
    this.active = active;
  }

  @Override
  public int select(long hash) {
    int n = owners.length;
    if (n <= 1) {
      return n == 0 ? NONE : owners[0];
    }
    int first = Hash64.reduce(hash, n);
    int second = first + 1 + Hash64.reduce(Hash64.mix64(hash), n - 1);
    if (second >= n) {
      second -= n;
    }
    long a1 = active.applyAsInt(owners[first]);
    long a2 = active.applyAsInt(owners[second]);
    return a2 * weights[first] < a1 * weights[second] ? owners[second] : owners[first];
  }
}
