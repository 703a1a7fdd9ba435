package io.lb4j.core.select;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.hash.Hashing;
import io.lb4j.testing.TestBackends;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * What lb4j guarantees for jump hash: equal to Guava when all members are equal and eligible; an
 * ineligible member (tombstone) moves only its own flows; adding or removing the last key moves the
 * ideal 1/n; any change gives the same answer in every instance with the same members.
 */
class JumpSelectorTest {
  private static final long SEED = 2014;

  @ParameterizedTest
  @ValueSource(ints = {1, 2, 3, 10, 100, 1000, 65536})
  void select_equalWeights_equalsGuavaConsistentHash(int n) {
    JumpSelector jump = new JumpSelector(new Members(TestBackends.keys(n), TestBackends.ones(n)));
    SplittableRandom random = new SplittableRandom(SEED);
    for (int i = 0; i < 100_000; i++) {
      long h = random.nextLong();
      assertEquals(Hashing.consistentHash(h, n), jump.select(h), "n " + n + ", seed " + SEED);
    }
    for (long h : new long[] {0, -1, Long.MIN_VALUE, Long.MAX_VALUE}) {
      assertEquals(Hashing.consistentHash(h, n), jump.select(h), "hash " + h);
    }
  }

  @Test
  void select_tombstone_movesOnlyItsFlows() {
    int n = 50;
    String[] keys = TestBackends.keys(n);
    JumpSelector before = new JumpSelector(new Members(keys, TestBackends.ones(n)));
    int[] weights = TestBackends.ones(n);
    weights[17] = 0;
    JumpSelector after = new JumpSelector(new Members(keys, weights));
    int samples = 200_000;
    int[] receivers = Remap.ofLeaver(before, after, 17, n, samples, SEED);
    int moved = Remap.total(receivers);
    assertEquals(1.0 / n, (double) moved / samples, 0.002);
    // the tombstone's flows spread over the others rather than piling onto a neighbour
    int max = 0;
    for (int r : receivers) {
      max = Math.max(max, r);
    }
    assertTrue(max < moved / 10, "one member took " + max + " of " + moved);
  }

  @Test
  void select_lastKeyRemoved_movesIdealShare() {
    int n = 100;
    String[] keys = TestBackends.keys(n + 1);
    String[] fewer = new String[n];
    System.arraycopy(keys, 0, fewer, 0, n);
    JumpSelector big = new JumpSelector(new Members(keys, TestBackends.ones(n + 1)));
    JumpSelector small = new JumpSelector(new Members(fewer, TestBackends.ones(n)));
    int samples = 200_000;
    int moved = Remap.total(Remap.ofLeaver(big, small, n, n, samples, SEED));
    assertEquals(1.0 / (n + 1), (double) moved / samples, 0.002);
  }

  @Test
  void select_middleKeyRemoved_renumbersLaterBuckets() {
    // The documented cost of deleting a member that does not sort last: flows of later buckets move
    // too. An ineligible member (weight 0) avoids it; both instances still agree.
    int n = 10;
    String[] keys = TestBackends.keys(n);
    String[] without = new String[n - 1];
    System.arraycopy(keys, 0, without, 0, 4);
    System.arraycopy(keys, 5, without, 4, n - 5);
    JumpSelector before = new JumpSelector(new Members(keys, TestBackends.ones(n)));
    JumpSelector after = new JumpSelector(new Members(without, TestBackends.ones(n - 1)));
    SplittableRandom random = new SplittableRandom(SEED);
    int movedSurvivors = 0;
    int samples = 100_000;
    for (int i = 0; i < samples; i++) {
      long h = random.nextLong();
      String b = keys[before.select(h)];
      String a = without[after.select(h)];
      if (!b.equals(keys[4]) && !a.equals(b)) {
        movedSurvivors++;
      }
    }
    assertTrue(movedSurvivors > samples / 10, "moved " + movedSurvivors);
  }
}
