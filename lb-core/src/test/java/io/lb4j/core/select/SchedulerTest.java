package io.lb4j.core.select;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.lb4j.spi.BackendSelector;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SchedulerTest {
  private static final long SEED = 99;

  @Test
  void roundRobin_cyclesInKeyOrder() {
    BackendSelector rr = Selectors.roundRobin(new String[] {"c", "a", "b"}, new int[] {1, 1, 9});
    int[] picks = new int[6];
    for (int i = 0; i < picks.length; i++) {
      picks[i] = rr.select(0);
    }
    // sorted keys a, b, c are the caller's indices 1, 2, 0; weights are ignored
    assertArrayEquals(new int[] {1, 2, 0, 1, 2, 0}, picks);
  }

  @Test
  void weightedRoundRobin_nginxExample_isSmooth() {
    // nginx's comment in ngx_http_upstream_round_robin.c: weights 5, 1, 1 give a a b a c a a.
    BackendSelector swrr =
        Selectors.weightedRoundRobin(new String[] {"a", "b", "c"}, new int[] {5, 1, 1});
    int[] picks = new int[14];
    for (int i = 0; i < picks.length; i++) {
      picks[i] = swrr.select(0);
    }
    assertArrayEquals(new int[] {0, 0, 1, 0, 2, 0, 0, 0, 0, 1, 0, 2, 0, 0}, picks);
  }

  @Test
  void leastConnections_picksFewestActive() {
    int[] active = {5, 2, 7, 2};
    BackendSelector lc =
        Selectors.leastConnections(
            new String[] {"a", "b", "c", "d"}, new int[] {1, 1, 1, 1}, i -> active[i]);
    SplittableRandom random = new SplittableRandom(SEED);
    int[] counts = new int[4];
    for (int i = 0; i < 1000; i++) {
      counts[lc.select(random.nextLong())]++;
    }
    assertEquals(0, counts[0] + counts[2]);
    // ties spread by the flow hash instead of all going to the first
    assertEquals(500, counts[1], 100);
  }

  @Test
  void weightedLeastConnections_comparesActivePerWeight() {
    // a: 10 active / weight 5 = 2; b: 3 active / weight 1 = 3 -> a wins despite more flows
    int[] active = {10, 3};
    BackendSelector wlc =
        Selectors.weightedLeastConnections(
            new String[] {"a", "b"}, new int[] {5, 1}, i -> active[i]);
    for (long h = 0; h < 100; h++) {
      assertEquals(0, wlc.select(h * 0x9E3779B97F4A7C15L));
    }
  }

  @Test
  void powerOfTwoChoices_neverPicksTheBusierOfItsTwo() {
    int n = 8;
    int[] active = {0, 100, 100, 100, 100, 100, 100, 100};
    String[] keys = {"a", "b", "c", "d", "e", "f", "g", "h"};
    BackendSelector p2c =
        Selectors.powerOfTwoChoices(keys, new int[] {1, 1, 1, 1, 1, 1, 1, 1}, i -> active[i]);
    SplittableRandom random = new SplittableRandom(SEED);
    int idle = 0;
    int samples = 80_000;
    for (int i = 0; i < samples; i++) {
      if (p2c.select(random.nextLong()) == 0) {
        idle++;
      }
    }
    // the idle member wins whenever it is one of the two draws: 2/n of the time
    assertEquals(2.0 / n, (double) idle / samples, 0.01, "seed " + SEED);
  }
}
