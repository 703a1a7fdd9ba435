package io.lb4j.core.select;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lb4j.SelectionAlgorithm;
import io.lb4j.SelectionPolicy;
import io.lb4j.spi.BackendSelector;
import io.lb4j.testing.TestBackends;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class BoundedLoadSelectorTest {
  private static final long SEED = 1608_01350L;

  @ParameterizedTest
  @CsvSource({
    "MAGLEV, 1.25",
    "RING_HASH, 1.25",
    "RENDEZVOUS, 1.25",
    "JUMP, 1.25",
    "MAGLEV, 1.01",
    "JUMP, 2.0"
  })
  void select_skewedHashes_neverExceedsCap(SelectionAlgorithm algorithm, double c) {
    // Flows arrive with half of them on one hot hash: unbounded, one member would take half.
    int n = 10;
    String[] keys = TestBackends.keys(n);
    int[] weights = {1, 1, 1, 1, 1, 2, 2, 2, 3, 3};
    int totalWeight = 17;
    int[] active = new int[n];
    AtomicInteger total = new AtomicInteger();
    BackendSelector selector =
        Selectors.of(
            SelectionPolicy.of(algorithm).withBoundedLoad(c),
            keys,
            weights,
            i -> active[i],
            total::get);
    SplittableRandom random = new SplittableRandom(SEED);
    List<Integer> open = new ArrayList<>();
    for (int step = 0; step < 20_000; step++) {
      if (!open.isEmpty() && random.nextInt(3) == 0) {
        int closed = open.remove(random.nextInt(open.size()));
        active[closed]--;
        total.decrementAndGet();
        continue;
      }
      long h = random.nextBoolean() ? 12345 : random.nextLong();
      int i = selector.select(h);
      int after = ++active[i];
      int t = total.incrementAndGet();
      double cap = Math.ceil(c * t * weights[i] / totalWeight);
      assertTrue(
          after <= cap,
          algorithm
              + " member "
              + i
              + " has "
              + after
              + " > cap "
              + cap
              + " at step "
              + step
              + ", seed "
              + SEED);
      open.add(i);
    }
  }

  @ParameterizedTest
  @CsvSource({"MAGLEV", "RENDEZVOUS"})
  void select_underCap_equalsUnboundedChoice(SelectionAlgorithm algorithm) {
    int n = 20;
    String[] keys = TestBackends.keys(n);
    BackendSelector plain =
        Selectors.of(SelectionPolicy.of(algorithm), keys, TestBackends.ones(n), null, null);
    BackendSelector bounded =
        Selectors.of(
            SelectionPolicy.of(algorithm).withBoundedLoad(),
            keys,
            TestBackends.ones(n),
            i -> 0,
            () -> 0);
    SplittableRandom random = new SplittableRandom(SEED);
    for (int i = 0; i < 10_000; i++) {
      long h = random.nextLong();
      assertEquals(plain.select(h), bounded.select(h), "seed " + SEED);
    }
  }

  @ParameterizedTest
  @CsvSource({"ROUND_ROBIN", "LEAST_CONNECTIONS"})
  void policy_boundedLoadOnScheduler_isRefused(SelectionAlgorithm algorithm) {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> SelectionPolicy.of(algorithm).withBoundedLoad());
    assertEquals(
        "boundedLoadFactor: 1.25 (expected: 0, bounded load applies to consistent-hash"
            + " algorithms only, not "
            + algorithm
            + ")",
        e.getMessage());
  }
}
