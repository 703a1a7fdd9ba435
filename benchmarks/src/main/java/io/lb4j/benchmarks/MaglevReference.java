package io.lb4j.benchmarks;

import io.lb4j.core.hash.Hash64;
import io.lb4j.spi.BackendSelector;
import java.math.BigInteger;
import java.util.Arrays;

/**
 * The Maglev paper's Pseudocode 1 written plainly, as the reference lb4j's build is measured
 * against: a permutation position computed with {@code %} at every step, no weights. Also lb4j's
 * own pick as it was before issue 17, over an {@code int} table, as the reference of the 16-bit
 * one.
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

  /**
   * Returns the entries of lb4j's Maglev {@code selector} with table size {@code m}, read through
   * its public {@code select}: entry {@code i} is the answer for the least hash that indexes it,
   * {@code ⌈i × 2^64 / m⌉}.
   */
  static int[] entries(BackendSelector selector, int m) {
    BigInteger twoTo64 = BigInteger.ONE.shiftLeft(64);
    BigInteger size = BigInteger.valueOf(m);
    int[] out = new int[m];
    for (int i = 0; i < m; i++) {
      BigInteger[] qr = BigInteger.valueOf(i).multiply(twoTo64).divideAndRemainder(size);
      long hash = qr[0].add(qr[1].signum() == 0 ? BigInteger.ZERO : BigInteger.ONE).longValue();
      if (Hash64.reduce(hash, m) != i) {
        throw new AssertionError("hash " + Long.toUnsignedString(hash) + " indexes not " + i);
      }
      out[i] = selector.select(hash);
    }
    return out;
  }

  /**
   * lb4j's Maglev lookup before issue 17, line for line: one {@code int} per entry (256 KiB at M =
   * 65537), indexed by {@code ⌊hash × M / 2^64⌋}.
   */
  static final class IntTable implements BackendSelector {
    private final int[] table;
    private final int tableSize;

    IntTable(int[] table) {
      this.table = table;
      this.tableSize = table.length;
    }

    @Override
    public int select(long hash) {
      int[] t = table;
      return t == null ? NONE : t[Hash64.reduce(hash, tableSize)];
    }
  }

  /**
   * Tried, not kept: one {@code byte} per entry (64 KiB at M = 65537), possible only for at most
   * 256 members; indexes above 255 are truncated, so at N = 1000 it measures the cost only.
   */
  static final class ByteTable implements BackendSelector {
    private final byte[] table;

    ByteTable(int[] entries) {
      table = new byte[entries.length];
      for (int i = 0; i < entries.length; i++) {
        table[i] = (byte) entries[i];
      }
    }

    @Override
    public int select(long hash) {
      byte[] t = table;
      return t == null ? NONE : t[Hash64.reduce(hash, t.length)] & 0xFF;
    }
  }
}
