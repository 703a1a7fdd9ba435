package io.lb4j.benchmarks;

import io.lb4j.core.hash.Hash64;
import java.util.Arrays;

/**
 * The Maglev paper's Pseudocode 1 written plainly, as the reference lb4j's build is measured
 * against: a permutation position computed with {@code %} at every step, no weights.
 */
final class MaglevReference {
  private MaglevReference() {}

  static int[] populate(String[] names, int m) {
    int n = names.length;
    long[] offset = new long[n];
    long[] skip = new long[n];
    for (int i = 0; i < n; i++) {
      offset[i] = Long.remainderUnsigned(Hash64.xxHash64(names[i], 1), m);
      skip[i] = Long.remainderUnsigned(Hash64.xxHash64(names[i], 2), m - 1) + 1;
    }
    int[] next = new int[n];
    int[] entry = new int[m];
    Arrays.fill(entry, -1);
    int filled = 0;
    while (true) {
      for (int i = 0; i < n; i++) {
        int c = (int) ((offset[i] + (long) next[i] * skip[i]) % m);
        while (entry[c] >= 0) {
          next[i]++;
          c = (int) ((offset[i] + (long) next[i] * skip[i]) % m);
        }
        entry[c] = i;
        next[i]++;
        filled++;
        if (filled == m) {
          return entry;
        }
      }
    }
  }
}
