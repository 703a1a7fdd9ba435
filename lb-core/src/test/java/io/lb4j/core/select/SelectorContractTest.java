package io.lb4j.core.select;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lb4j.AdminState;
import io.lb4j.Backend;
import io.lb4j.SelectionAlgorithm;
import io.lb4j.SelectionPolicy;
import io.lb4j.spi.BackendSelector;
import io.lb4j.testing.TestBackends;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The contract every selector and scheduler keeps, run over each algorithm. */
class SelectorContractTest {
  private static final long SEED = 7;
  private static final long[] EDGE_HASHES = {0, 1, -1, Long.MIN_VALUE, Long.MAX_VALUE};

  private static BackendSelector build(SelectionAlgorithm algorithm, String[] keys, int[] weights) {
    int[] active = new int[keys.length];
    return Selectors.of(SelectionPolicy.of(algorithm), keys, weights, i -> active[i], () -> 0);
  }

  @ParameterizedTest
  @EnumSource(SelectionAlgorithm.class)
  void select_anyHash_returnsEligibleIndexInRange(SelectionAlgorithm algorithm) {
    String[] keys = TestBackends.keys(50);
    int[] weights = new int[50];
    SplittableRandom random = new SplittableRandom(SEED);
    for (int i = 0; i < weights.length; i++) {
      weights[i] = i % 5 == 0 ? 0 : 1 + random.nextInt(10); // every fifth is out of rotation
    }
    BackendSelector selector = build(algorithm, keys, weights);
    for (int i = 0; i < 20_000; i++) {
      long h = i < EDGE_HASHES.length ? EDGE_HASHES[i] : random.nextLong();
      for (int attempt = 0; attempt < 3; attempt++) {
        int index = selector.select(h, attempt);
        assertTrue(index >= 0 && index < keys.length, algorithm + " index " + index);
        assertTrue(
            weights[index] > 0,
            algorithm + " chose ineligible " + keys[index] + " for hash " + h + ", seed " + SEED);
      }
    }
  }

  @ParameterizedTest
  @EnumSource(SelectionAlgorithm.class)
  void select_drainingDisabledOrZeroWeight_neverReturned(SelectionAlgorithm algorithm) {
    List<Backend> backends = new ArrayList<>(TestBackends.loopback("web", 12));
    backends.set(1, backends.get(1).withAdminState(AdminState.DRAINING));
    backends.set(5, backends.get(5).withAdminState(AdminState.DISABLED));
    backends.set(9, backends.get(9).withWeight(0));
    int[] active = new int[12];
    BackendSelector selector =
        Selectors.of(SelectionPolicy.of(algorithm), backends, i -> active[i], () -> 0);
    SplittableRandom random = new SplittableRandom(SEED);
    for (int i = 0; i < 10_000; i++) {
      int index = selector.select(random.nextLong());
      assertTrue(index != 1 && index != 5 && index != 9, algorithm + " chose " + index);
    }
  }

  @ParameterizedTest
  @EnumSource(SelectionAlgorithm.class)
  void select_noEligibleMember_returnsNone(SelectionAlgorithm algorithm) {
    assertEquals(BackendSelector.NONE, build(algorithm, new String[0], new int[0]).select(1));
    BackendSelector allZero = build(algorithm, TestBackends.keys(3), new int[3]);
    for (long h : EDGE_HASHES) {
      assertEquals(BackendSelector.NONE, allZero.select(h), algorithm + " hash " + h);
    }
  }

  @ParameterizedTest
  @EnumSource(SelectionAlgorithm.class)
  void select_oneEligibleMember_alwaysReturnsIt(SelectionAlgorithm algorithm) {
    BackendSelector selector = build(algorithm, TestBackends.keys(4), new int[] {0, 0, 3, 0});
    SplittableRandom random = new SplittableRandom(SEED);
    for (int i = 0; i < 1000; i++) {
      assertEquals(2, selector.select(random.nextLong()), algorithm.toString());
    }
  }

  @ParameterizedTest
  @EnumSource(SelectionAlgorithm.class)
  void select_removedMember_neverReturned(SelectionAlgorithm algorithm) {
    String[] keys = TestBackends.keys(20);
    String[] without = new String[19];
    System.arraycopy(keys, 0, without, 0, 7);
    System.arraycopy(keys, 8, without, 7, 12);
    BackendSelector selector = build(algorithm, without, TestBackends.ones(19));
    SplittableRandom random = new SplittableRandom(SEED);
    for (int i = 0; i < 10_000; i++) {
      int index = selector.select(random.nextLong());
      assertTrue(!without[index].equals(keys[7]), algorithm.toString());
    }
  }

  @ParameterizedTest
  @EnumSource(SelectionAlgorithm.class)
  void select_shuffledInput_choosesSameKey(SelectionAlgorithm algorithm) {
    if (!algorithm.isConsistentHash()) {
      return; // schedulers depend on counters and call order, not only on the hash
    }
    String[] keys = TestBackends.keys(100);
    int[] weights = new int[100];
    for (int i = 0; i < 100; i++) {
      weights[i] = 1 + i % 4;
    }
    List<Integer> perm = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      perm.add(i);
    }
    Collections.shuffle(perm, new Random(SEED));
    String[] shuffledKeys = new String[100];
    int[] shuffledWeights = new int[100];
    for (int i = 0; i < 100; i++) {
      shuffledKeys[i] = keys[perm.get(i)];
      shuffledWeights[i] = weights[perm.get(i)];
    }
    BackendSelector a = build(algorithm, keys, weights);
    BackendSelector b = build(algorithm, shuffledKeys, shuffledWeights);
    SplittableRandom random = new SplittableRandom(SEED);
    for (int i = 0; i < 20_000; i++) {
      long h = random.nextLong();
      assertEquals(keys[a.select(h)], shuffledKeys[b.select(h)], algorithm + " seed " + SEED);
    }
  }

  @ParameterizedTest
  @EnumSource(SelectionAlgorithm.class)
  void select_twoInstances_agree(SelectionAlgorithm algorithm) {
    String[] keys = TestBackends.keys(30);
    int[] weights = TestBackends.ones(30);
    BackendSelector a = build(algorithm, keys, weights);
    BackendSelector b = build(algorithm, keys.clone(), weights.clone());
    SplittableRandom random = new SplittableRandom(SEED);
    for (int i = 0; i < 10_000; i++) {
      long h = random.nextLong();
      assertEquals(a.select(h), b.select(h), algorithm + " seed " + SEED);
    }
  }

  @ParameterizedTest
  @EnumSource(SelectionAlgorithm.class)
  void select_equalWeights_spreadsEvenly(SelectionAlgorithm algorithm) {
    // 10 members, 100,000 picks: each within 5% of 10,000 (binomial sd is 1%). A ring of 160
    // points per member has a key-share spread of 1/sqrt(160) = 7.9% itself: 25% (3 sd) there.
    double tolerance = algorithm == SelectionAlgorithm.RING_HASH ? 0.25 : 0.05;
    int n = 10;
    int[] counts = new int[n];
    int[] active = new int[n];
    AtomicInteger total = new AtomicInteger();
    BackendSelector selector =
        Selectors.of(
            SelectionPolicy.of(algorithm),
            TestBackends.keys(n),
            TestBackends.ones(n),
            i -> active[i],
            total::get);
    SplittableRandom random = new SplittableRandom(SEED);
    for (int i = 0; i < 100_000; i++) {
      int index = selector.select(random.nextLong());
      counts[index]++;
      active[index]++; // the schedulers see every flow as still open
      total.incrementAndGet();
    }
    for (int c : counts) {
      assertEquals(10_000, c, 10_000 * tolerance, algorithm + " counts, seed " + SEED);
    }
  }
}
