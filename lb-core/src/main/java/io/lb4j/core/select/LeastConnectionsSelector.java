package io.lb4j.core.select;

import io.lb4j.core.hash.Hash64;
import io.lb4j.spi.BackendSelector;
import java.util.function.IntUnaryOperator;

/**
 * Least connections (LVS {@code lc}) and weighted least connections (LVS {@code wlc}): the eligible
 * member with the fewest active flows, or the fewest per unit of weight.
 *
 * <p>A pick scans every eligible member, O(N), reading live counts. The scan starts at a position
 * drawn from the flow hash, so ties (at start-up every count is 0) spread over the members instead
 * of all going to the first, as LVS's do. Ratios are compared by cross-multiplication, {@code a1 ×
 * w2 < a2 × w1}, without division.
 */
final class LeastConnectionsSelector implements BackendSelector {
  private final int[] owners;
  private final long[] weights;
  private final IntUnaryOperator active;

  LeastConnectionsSelector(Members m, boolean weighted, IntUnaryOperator active) {
    this.owners = m.eligibleCallerIndices();
    this.weights = new long[owners.length];
    int k = 0;
    for (int s = 0; s < m.size; s++) {
      if (m.weights[s] > 0) {
        weights[k++] = weighted ? m.weights[s] : 1;
      }
    }
    this.active = active;
  }

  @Override
  public int select(long hash) {
    int n = owners.length;
    if (n == 0) {
      return NONE;
    }
    int start = Hash64.reduce(hash, n);
    int best = start;
    long bestActive = active.applyAsInt(owners[start]);
    for (int k = 1; k < n; k++) {
      int i = start + k < n ? start + k : start + k - n;
      long a = active.applyAsInt(owners[i]);
      if (a * weights[best] < bestActive * weights[i]) {
        best = i;
        bestActive = a;
      }
    }
    return owners[best];
  }
}
