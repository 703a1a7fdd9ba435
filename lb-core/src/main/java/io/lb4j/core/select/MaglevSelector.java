package io.lb4j.core.select;

import io.lb4j.core.hash.Hash64;
import io.lb4j.spi.BackendSelector;
import java.util.Arrays;

/**
 * Maglev hashing (Eisenbud et al., "Maglev: A Fast and Reliable Software Network Load Balancer",
 * NSDI 2016, section 3.4), weighted as Envoy's {@code maglev_lb.cc} does.
 *
 * <p>Each eligible member, in key order, gets {@code offset = h1(key) mod M} and {@code skip =
 * h2(key) mod (M - 1) + 1}; its preference list is {@code (offset + j × skip) mod M}. Members take
 * turns claiming their next free preferred entry until the table is full. With weights, a member of
 * weight {@code w} takes a turn in round {@code r} only while {@code r × w >= taken × wmax}, so it
 * claims entries in proportion to its weight; with equal weights each member gets ⌊M/N⌋ or ⌈M/N⌉
 * entries. The preference position advances by adding {@code skip} and subtracting {@code M}, never
 * by a division.
 *
 * <p>A lookup reads one entry from the table at {@code ⌊hash × M / 2^64⌋} (a multiply-high, no
 * division). Entries are 16 bits wide, a {@code char} read as the unsigned backend index, whenever
 * every index fits ({@value #NARROW_MEMBERS} members or fewer, which is every pool in practice):
 * the default table (M = 65537) is then 128 KiB instead of 256 KiB, half the cache lines for the
 * same picks. Larger member lists keep an {@code int} table. The build fills an {@code int} table
 * and narrows it in one pass. Either way a pick reads the table and M from two fields, then one
 * entry, and allocates nothing.
 */
final class MaglevSelector implements BackendSelector {
  /**
   * The most members a 16-bit table can name: their indexes 0 to 65535 are exactly the values of a
   * {@code char}, read back without sign extension.
   */
  static final int NARROW_MEMBERS = Character.MAX_VALUE + 1;

  /**
   * The entries as unsigned 16-bit indexes; null when the members are too many or none eligible.
   */
  private final char[] narrow;

  /** The entries as {@code int}s, for more than {@link #NARROW_MEMBERS} members; else null. */
  private final int[] wide;

  /**
   * M, kept beside the table references so that the index does not wait for a read of the array's
   * length.
   */
  private final int tableSize;

  MaglevSelector(Members members, int tableSize) {
    this.tableSize = tableSize;
    int[] table = members.eligible == 0 ? null : build(members, tableSize);
    if (table != null && members.size <= NARROW_MEMBERS) {
      this.narrow = narrow(table);
      this.wide = null;
    } else {
      this.narrow = null;
      this.wide = table;
    }
  }

  /** Returns {@code table} with each entry as a {@code char}; every entry must be below 65536. */
  static char[] narrow(int[] table) {
    char[] out = new char[table.length];
    for (int i = 0; i < table.length; i++) {
      out[i] = (char) table[i];
    }
    return out;
  }

  static int[] build(Members m, int tableSize) {
    int n = m.eligible;
    int[] owner = new int[n];
    long[] weight = new long[n];
    int[] offset = new int[n];
    int[] skip = new int[n];
    int k = 0;
    for (int s = 0; s < m.size; s++) {
      if (m.weights[s] == 0) {
        continue;
      }
      owner[k] = m.order[s];
      weight[k] = m.weights[s];
      offset[k] = (int) Long.remainderUnsigned(m.keyHash(s, Members.KEY_SEED), tableSize);
      skip[k] = (int) Long.remainderUnsigned(m.keyHash(s, Members.SKIP_SEED), tableSize - 1) + 1;
      k++;
    }
    return populate(offset, skip, weight, owner, tableSize);
  }

  /**
   * Fills a table of size {@code tableSize} from each member's {@code offset}, {@code skip} and
   * weight (the paper's Pseudocode 1, weighted): each entry holds its member's {@code owner}.
   */
  static int[] populate(int[] offset, int[] skip, long[] weight, int[] owner, int tableSize) {
    int n = offset.length;
    int[] position = offset.clone();
    long[] target = new long[n];
    long maxWeight = 0;
    boolean uniform = true;
    for (int i = 0; i < n; i++) {
      uniform &= weight[i] == weight[0];
      maxWeight = Math.max(maxWeight, weight[i]);
    }
    int[] table = new int[tableSize];
    Arrays.fill(table, NONE);
    int filled = 0;
    for (long round = 1; filled < tableSize; round++) {
      for (int i = 0; i < n && filled < tableSize; i++) {
        if (!uniform) {
          if (round * weight[i] < target[i]) {
            continue;
          }
          target[i] += maxWeight;
        }
        int p = position[i];
        int step = skip[i] - tableSize; // in [1 - M, -1]: add it, then add M back if negative
        while (table[p] != NONE) {
          p += step;
          p += (p >> 31) & tableSize; // branch-free: a taken-or-not wrap mispredicts half the time
        }
        table[p] = owner[i];
        p += step;
        position[i] = p + ((p >> 31) & tableSize);
        filled++;
      }
    }
    return table;
  }

  @Override
  public int select(long hash) {
    char[] t = narrow;
    if (t != null) {
      return t[Hash64.reduce(hash, tableSize)]; // a char widens to int without sign extension
    }
    int[] w = wide;
    return w == null ? NONE : w[Hash64.reduce(hash, tableSize)];
  }

  /** Returns whether the entries are 16-bit. */
  boolean isNarrow() {
    return narrow != null;
  }

  /** Returns a copy of the lookup table: entry i holds the caller's index of its backend. */
  int[] table() {
    if (narrow != null) {
      int[] out = new int[narrow.length];
      for (int i = 0; i < out.length; i++) {
        out[i] = narrow[i];
      }
      return out;
    }
    return wide == null ? new int[0] : wide.clone();
  }
}
