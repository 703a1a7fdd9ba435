package io.lb4j.core.select;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.lb4j.SelectionAlgorithm;
import io.lb4j.SelectionPolicy;
import io.lb4j.spi.BackendSelector;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Each algorithm's share of new flows per member against its weight, weights 1, 2, 3, 4, 10, with a
 * stated relative tolerance. 400,000 picks put the sampling sd of the smallest share (1/20) at 0.8%
 * of it; ring hash adds its own spread, 1/sqrt(points × weight).
 */
class WeightedShareTest {
  private static final long SEED = 31337;
  private static final int[] WEIGHTS = {1, 2, 3, 4, 10};
  private static final String[] KEYS = {"alpha", "bravo", "charlie", "delta", "echo"};

  @ParameterizedTest
  @EnumSource(
      value = SelectionAlgorithm.class,
      names = {"ROUND_ROBIN", "LEAST_CONNECTIONS"},
      mode = EnumSource.Mode.EXCLUDE)
  void select_weighted_sharesFollowWeights(SelectionAlgorithm algorithm) {
    double tolerance;
    SelectionPolicy policy;
    switch (algorithm) {
      case RING_HASH:
        policy = SelectionPolicy.ringHash(2000); // sd 1/sqrt(2000) = 2.2% for weight 1
        tolerance = 0.10;
        break;
      case WEIGHTED_ROUND_ROBIN:
        policy = SelectionPolicy.of(algorithm);
        tolerance = 0.0001; // exact over whole cycles
        break;
      default:
        policy = SelectionPolicy.of(algorithm);
        tolerance = 0.04;
    }
    int n = WEIGHTS.length;
    int[] active = new int[n];
    AtomicInteger total = new AtomicInteger();
    BackendSelector selector = Selectors.of(policy, KEYS, WEIGHTS, i -> active[i], total::get);
    int samples = 400_000;
    int[] counts = new int[n];
    SplittableRandom random = new SplittableRandom(SEED);
    for (int i = 0; i < samples; i++) {
      int index = selector.select(random.nextLong());
      counts[index]++;
      active[index]++;
      total.incrementAndGet();
    }
    for (int i = 0; i < n; i++) {
      double expected = (double) WEIGHTS[i] / 20;
      double actual = (double) counts[i] / samples;
      assertEquals(
          expected,
          actual,
          expected * tolerance,
          algorithm + " member " + KEYS[i] + " weight " + WEIGHTS[i] + ", seed " + SEED);
    }
  }
}
