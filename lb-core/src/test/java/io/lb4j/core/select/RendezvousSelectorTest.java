package io.lb4j.core.select;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.lb4j.testing.TestBackends;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class RendezvousSelectorTest {
  private static final long SEED = 1998;

  @Test
  void select_memberRemoved_movesOnlyItsKeys() {
    int n = 100;
    String[] keys = TestBackends.keys(n);
    int[] weights = new int[n];
    for (int i = 0; i < n; i++) {
      weights[i] = 1 + i % 3;
    }
    RendezvousSelector before = new RendezvousSelector(new Members(keys, weights));
    int[] less = weights.clone();
    less[10] = 0;
    RendezvousSelector after = new RendezvousSelector(new Members(keys, less));
    int moved = Remap.total(Remap.ofLeaver(before, after, 10, n, 100_000, SEED));
    // weight 2 of 199 in all
    assertEquals(2.0 / 199, moved / 100_000.0, 0.002);
  }

  @Test
  void select_weightRaised_movesFlowsOnlyToThatMember() {
    int n = 20;
    String[] keys = TestBackends.keys(n);
    int[] weights = TestBackends.ones(n);
    RendezvousSelector before = new RendezvousSelector(new Members(keys, weights));
    weights[3] = 3;
    RendezvousSelector after = new RendezvousSelector(new Members(keys, weights));
    SplittableRandom random = new SplittableRandom(SEED);
    int moved = 0;
    int samples = 100_000;
    for (int i = 0; i < samples; i++) {
      long h = random.nextLong();
      int b = before.select(h);
      int a = after.select(h);
      if (a != b) {
        assertEquals(3, a, "a flow moved between two unchanged members, seed " + SEED);
        moved++;
      }
    }
    // share goes from 1/20 to 3/22: 8.6% of flows move, the minimum possible
    assertEquals(3.0 / 22 - 1.0 / 20, (double) moved / samples, 0.004);
  }
}
