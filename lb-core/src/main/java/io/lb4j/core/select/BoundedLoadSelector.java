package io.lb4j.core.select;

import io.lb4j.spi.BackendSelector;
import java.util.function.IntSupplier;
import java.util.function.IntUnaryOperator;

/**
 * Consistent hashing with bounded loads (Mirrokni, Thorup and Zadimoghaddam, "Consistent Hashing
 * with Bounded Loads", SODA 2018, arXiv 1608.01350) over any consistent-hash selector.
 *
 * <p>With {@code T} active flows in all, a member of weight {@code w} out of a total {@code W} may
 * take a new flow only while it has fewer than {@code ⌈c × (T + 1) × w / W⌉}. A flow whose choice
 * is full retries with derived hashes ({@link BackendSelector#select(long, int)}), which spreads
 * overflow instead of cascading it onto one neighbour (Envoy's approach, arXiv 1908.08762); after
 * {@link #MAX_ATTEMPTS} it takes the next member in key order that has room. Since the caps add up
 * to at least {@code c × (T + 1) > T}, some member always has room.
 *
 * <p>The bound is exact when selections are serialized; concurrent selections read the counts
 * before either is recorded and may each take the last place, so the bound can be exceeded by at
 * most the number of selections in flight.
 */
final class BoundedLoadSelector implements BackendSelector {
  /** Derived-hash retries before the scan for a member with room. */
  static final int MAX_ATTEMPTS = 32;

  private final BackendSelector inner;
  private final double factor;
  private final int[] owners;
  private final double[] weights;
  private final double totalWeight;
  private final IntUnaryOperator active;
  private final IntSupplier total;

  BoundedLoadSelector(
      BackendSelector inner, Members m, double factor, IntUnaryOperator active, IntSupplier total) {
    this.inner = inner;
    this.factor = factor;
    this.owners = m.eligibleCallerIndices();
    this.weights = new double[m.size];
    for (int s = 0; s < m.size; s++) {
      weights[m.order[s]] = m.weights[s];
    }
    this.totalWeight = m.totalWeight;
    this.active = active;
    this.total = total;
  }

  @Override
  public int select(long hash) {
    double demand = factor * (total.getAsInt() + 1.0);
    int first = inner.select(hash);
    if (first == NONE || hasRoom(first, demand)) {
      return first;
    }
    for (int attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      int i = inner.select(hash, attempt);
      if (hasRoom(i, demand)) {
        return i;
      }
    }
    int start = 0;
    while (owners[start] != first) {
      start++;
    }
    for (int k = 1; k < owners.length; k++) {
      int i = owners[(start + k) % owners.length];
      if (hasRoom(i, demand)) {
        return i;
      }
    }
    return first;
  }

  /**
   * Returns whether the member at the caller's index {@code i} may take a flow. The cap is computed
   * as {@code c × (T + 1) × w / W} in that order: when its exact value is a whole number every step
   * is exact in a double, so the ceiling never rounds up past it.
   */
  /** Returns whether member {@code i} is at its bound: a new flow would pass it over. */
  boolean full(int i) {
    return weights[i] > 0 && !hasRoom(i, factor * (total.getAsInt() + 1.0));
  }

  /** Returns the bound on member {@code i}'s flows for the next new flow. */
  int bound(int i) {
    return (int) Math.ceil(factor * (total.getAsInt() + 1.0) * weights[i] / totalWeight);
  }

  private boolean hasRoom(int i, double demand) {
    return active.applyAsInt(i) < Math.ceil(demand * weights[i] / totalWeight);
  }
}
