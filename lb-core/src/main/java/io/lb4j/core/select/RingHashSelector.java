package io.lb4j.core.select;

import io.lb4j.core.hash.Hash64;
import io.lb4j.spi.BackendSelector;
import java.util.Arrays;

/**
 * Ketama-style consistent hashing on a ring (Karger et al., "Consistent Hashing and Random Trees",
 * STOC 1997; libketama's points per server).
 *
 * <p>An eligible member of weight {@code w} places {@code pointsPerWeight × w} points on a 64-bit
 * ring, point {@code j} at {@code hash(keyHash, j)}; a flow goes to the owner of the first point at
 * or after its hash, wrapping around. Removing a member moves only the flows on its arcs. The ring
 * holds at most {@link #MAX_POINTS} points (Envoy's {@code maximum_ring_size}); a larger request
 * scales every member's count down in proportion, each keeping at least one point.
 *
 * <p>Each point is one {@code long}: the high 44 bits are its ring position, the low 20 bits the
 * sorted index of its owner, so one {@code Arrays.binarySearch} finds both and equal positions
 * order by key. Hence at most {@link #MAX_MEMBERS} members.
 */
final class RingHashSelector implements BackendSelector {
  /** The most points on a ring: 8,388,608, Envoy's {@code maximum_ring_size}. */
  static final int MAX_POINTS = 1 << 23;

  static final int OWNER_BITS = 20;

  /** The most members a ring holds: 2^20, what the owner bits of a point can name. */
  static final int MAX_MEMBERS = 1 << OWNER_BITS;

  private static final long OWNER_MASK = (1L << OWNER_BITS) - 1;

  private final long[] ring;
  private final int[] order;

  RingHashSelector(Members m, int pointsPerWeight) {
    if (m.size > MAX_MEMBERS) {
      throw new IllegalArgumentException(
          "backends: " + m.size + " (expected: at most " + MAX_MEMBERS + " for ring hash)");
    }
    this.order = m.order;
    this.ring = m.eligible == 0 ? null : build(m, pointsPerWeight);
  }

  private static long[] build(Members m, int pointsPerWeight) {
    long requested = m.totalWeight * pointsPerWeight;
    double scale = requested > MAX_POINTS ? (double) MAX_POINTS / requested : 1.0;
    int[] points = new int[m.size];
    long total = 0;
    for (int s = 0; s < m.size; s++) {
      if (m.weights[s] > 0) {
        points[s] = (int) Math.max(1, (long) ((long) m.weights[s] * pointsPerWeight * scale));
        total += points[s];
      }
    }
    long[] ring = new long[(int) total];
    int k = 0;
    for (int s = 0; s < m.size; s++) {
      long keyHash = m.keyHash(s, Members.KEY_SEED);
      for (int j = 0; j < points[s]; j++) {
        ring[k++] = (position(Hash64.hashWords(Members.KEY_SEED, keyHash, j))) | s;
      }
    }
    Arrays.sort(ring);
    return ring;
  }

  /** Returns the ring position of {@code hash}: unsigned order made signed, owner bits cleared. */
  private static long position(long hash) {
    return (hash ^ Long.MIN_VALUE) & ~OWNER_MASK;
  }

  @Override
  public int select(long hash) {
    long[] r = ring;
    if (r == null) {
      return NONE;
    }
    int i = Arrays.binarySearch(r, position(hash));
    if (i < 0) {
      i = -i - 1;
      if (i == r.length) {
        i = 0;
      }
    }
    return order[(int) (r[i] & OWNER_MASK)];
  }

  /**
   * Returns each caller index's exact share of the 64-bit key space (for tests and diagnostics):
   * the lengths of the arcs that end at its points.
   */
  double[] keyShares(int callers) {
    double[] shares = new double[callers];
    if (ring == null) {
      return shares;
    }
    for (int i = 0; i < ring.length; i++) {
      long end = ring[i] & ~OWNER_MASK;
      long start = i == 0 ? ring[ring.length - 1] & ~OWNER_MASK : ring[i - 1] & ~OWNER_MASK;
      double arc = (double) (end - start) * 0x1.0p-64; // two's complement wraps the first arc
      shares[order[(int) (ring[i] & OWNER_MASK)]] += arc < 0 ? arc + 1 : arc;
    }
    return shares;
  }

  /** Returns the number of points on the ring. */
  int points() {
    return ring == null ? 0 : ring.length;
  }
}
