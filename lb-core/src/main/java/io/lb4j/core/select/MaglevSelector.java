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
 * <p>A lookup reads one {@code int} from the table at {@code ⌊hash × M / 2^64⌋}.
 */
final class MaglevSelector implements BackendSelector {
  private final int[] table;
  private final int tableSize;

  MaglevSelector(Members members, int tableSize) {
    this.tableSize = tableSize;
    this.table = members.eligible == 0 ? null : build(members, tableSize);
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
    int[] t = table;
    return t == null ? NONE : t[Hash64.reduce(hash, tableSize)];
  }

  /** Returns a copy of the lookup table: entry i holds the caller's index of its backend. */
  int[] table() {
    return table == null ? new int[0] : table.clone();
  }
}
