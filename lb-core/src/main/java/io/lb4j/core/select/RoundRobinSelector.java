package io.lb4j.core.select;

import io.lb4j.spi.BackendSelector;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Round robin over a fixed sequence of members, advanced by one atomic counter per pick and
 * ignoring the flow hash.
 *
 * <p>Plain round robin (LVS {@code rr}) cycles over the eligible members in key order. Smooth
 * weighted round robin (nginx's {@code ngx_http_upstream_get_peer}; LVS {@code wrr}) precomputes
 * one cycle of nginx's sequence: every round each member's current weight grows by its weight, the
 * largest current weight wins and loses the total. Over a cycle of {@code Σw / gcd(w)} picks each
 * member is chosen in proportion to its weight, interleaved rather than in bursts (weights 5, 1, 1
 * give a a b a c a a). A cycle longer than {@link #MAX_CYCLE} is computed on weights scaled down in
 * proportion.
 */
final class RoundRobinSelector implements BackendSelector {
  /** The longest precomputed cycle: 2^20 picks, a 4 MiB {@code int[]}. */
  static final int MAX_CYCLE = 1 << 20;

  private final int[] cycle;
  private final AtomicLong next = new AtomicLong();

  private RoundRobinSelector(int[] cycle) {
    this.cycle = cycle;
  }

  static RoundRobinSelector plain(Members m) {
    return new RoundRobinSelector(m.eligibleCallerIndices());
  }

  static RoundRobinSelector smoothWeighted(Members m) {
    int[] owners = m.eligibleCallerIndices();
    int n = owners.length;
    long[] w = new long[n];
    long gcd = 0;
    int k = 0;
    for (int s = 0; s < m.size; s++) {
      if (m.weights[s] > 0) {
        w[k++] = m.weights[s];
        gcd = gcd(gcd, m.weights[s]);
      }
    }
    long length = 0;
    for (int i = 0; i < n; i++) {
      w[i] /= gcd;
      length += w[i];
    }
    if (length > MAX_CYCLE) {
      double scale = (double) MAX_CYCLE / length;
      length = 0;
      for (int i = 0; i < n; i++) {
        w[i] = Math.max(1, (long) (w[i] * scale));
        length += w[i];
      }
    }
    int[] cycle = new int[(int) length];
    long[] current = new long[n];
    for (int p = 0; p < cycle.length; p++) {
      int best = 0;
      for (int i = 0; i < n; i++) {
        current[i] += w[i];
        if (current[i] > current[best]) {
          best = i;
        }
      }
      current[best] -= length;
      cycle[p] = owners[best];
    }
    return new RoundRobinSelector(cycle);
  }

  private static long gcd(long a, long b) {
    while (b != 0) {
      long t = a % b;
      a = b;
      b = t;
    }
    return a;
  }

  @Override
  public int select(long hash) {
    int[] c = cycle;
    if (c.length == 0) {
      return NONE;
    }
    return c[(int) Long.remainderUnsigned(next.getAndIncrement(), c.length)];
  }

  @Override
  public int select(long hash, int attempt) {
    return select(hash);
  }
}
