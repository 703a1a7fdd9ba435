package io.lb4j.core.select;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lb4j.testing.TestBackends;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RingHashSelectorTest {
  private static final long SEED = 1997;

  @ParameterizedTest
  @CsvSource({"100, 1000", "160, 1000", "1000, 200"})
  void ring_keyShares_relativeStdDevWithin20PercentOfInverseSqrtPoints(int points, int n) {
    // Each member's exact share of the 64-bit key space; theory: relative sd = 1/sqrt(points).
    RingHashSelector ring =
        new RingHashSelector(new Members(TestBackends.keys(n), TestBackends.ones(n)), points);
    double[] shares = ring.keyShares(n);
    double mean = 1.0 / n;
    double var = 0;
    for (double s : shares) {
      var += (s - mean) * (s - mean);
    }
    double relSd = Math.sqrt(var / n) / mean;
    double expected = 1 / Math.sqrt(points);
    assertTrue(
        Math.abs(relSd / expected - 1) <= 0.2,
        "relative sd " + relSd + " vs 1/sqrt(" + points + ") = " + expected);
  }

  @Test
  void select_memberRemoved_movesOnlyItsKeys() {
    int n = 100;
    String[] keys = TestBackends.keys(n);
    RingHashSelector before = new RingHashSelector(new Members(keys, TestBackends.ones(n)), 160);
    int[] weights = TestBackends.ones(n);
    weights[42] = 0;
    RingHashSelector after = new RingHashSelector(new Members(keys, weights), 160);
    int samples = 200_000;
    int moved = Remap.total(Remap.ofLeaver(before, after, 42, n, samples, SEED));
    // the removed member held about 1/100 of the keys (ring spread 8%)
    assertEquals(0.01, (double) moved / samples, 0.003);
  }

  @Test
  void build_hugeWeights_capsRingAtMaxPoints() {
    RingHashSelector ring =
        new RingHashSelector(new Members(new String[] {"a", "b"}, new int[] {65535, 1}), 1000);
    assertTrue(ring.points() <= RingHashSelector.MAX_POINTS, "points " + ring.points());
    assertTrue(ring.points() > RingHashSelector.MAX_POINTS / 2, "points " + ring.points());
  }

  @Test
  void select_hashAboveLastPoint_wrapsToFirst() {
    RingHashSelector ring =
        new RingHashSelector(new Members(new String[] {"a", "b", "c"}, new int[] {1, 1, 1}), 1);
    // -1 is the largest unsigned hash and 0 the smallest: past the last point -1 wraps to the first
    assertEquals(ring.select(0L), ring.select(-1L));
  }
}
