package io.lb4j.core.select;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.lb4j.spi.BackendSelector;
import java.util.SplittableRandom;

/** Where flows go when one member leaves: survivors must keep theirs, the leaver's are counted. */
final class Remap {
  private Remap() {}

  /**
   * Compares {@code before} and {@code after} on {@code samples} seeded hashes; asserts that every
   * flow not on member {@code left} (an index of {@code before}) keeps its answer, and returns how
   * many flows of {@code left} went to each index of {@code after}.
   */
  static int[] ofLeaver(
      BackendSelector before, BackendSelector after, int left, int size, int samples, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    int[] receivers = new int[size];
    for (int i = 0; i < samples; i++) {
      long h = random.nextLong();
      int b = before.select(h);
      int a = after.select(h);
      if (b != left) {
        assertEquals(b, a, "a flow of a surviving member moved, seed " + seed);
      } else {
        receivers[a]++;
      }
    }
    return receivers;
  }

  /** Returns the sum of {@code counts}. */
  static int total(int[] counts) {
    int sum = 0;
    for (int c : counts) {
      sum += c;
    }
    return sum;
  }
}
