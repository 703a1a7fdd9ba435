package io.lb4j.core.select;

import io.lb4j.core.hash.Hash64;
import java.util.Arrays;
import java.util.Comparator;

/**
 * A selector's input put in canonical order: members sorted by key, so that the order of the
 * caller's list never changes a table. {@code order[s]} is the caller's index of the member at
 * sorted position {@code s}.
 */
final class Members {
  /** Seed of the key hash that places a member (Maglev offset, ring points, rendezvous score). */
  static final long KEY_SEED = 0x6C62346A5F6B6579L; // "lb4j_key"

  /** Seed of Maglev's second key hash, the skip. */
  static final long SKIP_SEED = 0x6C62346A5F736B70L; // "lb4j_skp"

  final int size;
  final int[] order;
  final String[] keys;
  final int[] weights;
  final int eligible;
  final long totalWeight;
  final int maxWeight;

  Members(String[] callerKeys, int[] callerWeights) {
    if (callerKeys.length != callerWeights.length) {
      throw new IllegalArgumentException(
          "weights: "
              + callerWeights.length
              + " entries (expected: "
              + callerKeys.length
              + ", one per key)");
    }
    size = callerKeys.length;
    Integer[] boxed = new Integer[size];
    for (int i = 0; i < size; i++) {
      if (callerKeys[i] == null) {
        throw new NullPointerException("keys[" + i + "]");
      }
      if (callerWeights[i] < 0) {
        throw new IllegalArgumentException(
            "weights[" + i + "]: " + callerWeights[i] + " (expected: >= 0)");
      }
      boxed[i] = i;
    }
    Arrays.sort(boxed, Comparator.comparing((Integer i) -> callerKeys[i]));
    order = new int[size];
    keys = new String[size];
    weights = new int[size];
    int count = 0;
    long total = 0;
    int max = 0;
    for (int s = 0; s < size; s++) {
      int i = boxed[s];
      if (s > 0 && callerKeys[i].equals(keys[s - 1])) {
        throw new IllegalArgumentException(
            "keys[" + i + "]: '" + callerKeys[i] + "' (expected: unique keys)");
      }
      order[s] = i;
      keys[s] = callerKeys[i];
      weights[s] = callerWeights[i];
      if (weights[s] > 0) {
        count++;
        total += weights[s];
        max = Math.max(max, weights[s]);
      }
    }
    eligible = count;
    totalWeight = total;
    maxWeight = max;
  }

  /** Returns whether every eligible member has the same weight. */
  boolean uniformWeights() {
    for (int w : weights) {
      if (w > 0 && w != maxWeight) {
        return false;
      }
    }
    return true;
  }

  /** Returns the key hash of the member at sorted position {@code s}. */
  long keyHash(int s, long seed) {
    return Hash64.xxHash64(keys[s], seed);
  }

  /** Returns the caller's indices of the eligible members, in sorted order. */
  int[] eligibleCallerIndices() {
    int[] out = new int[eligible];
    int n = 0;
    for (int s = 0; s < size; s++) {
      if (weights[s] > 0) {
        out[n++] = order[s];
      }
    }
    return out;
  }
}
