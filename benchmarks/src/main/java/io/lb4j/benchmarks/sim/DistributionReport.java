package io.lb4j.benchmarks.sim;

import io.lb4j.SelectionPolicy;
import io.lb4j.core.select.Selectors;
import io.lb4j.spi.BackendSelector;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Distribution quality of every consistent-hash algorithm, deterministic from fixed seeds: load
 * balance (max/mean and relative standard deviation of flows per backend) for N ∈ {10, 100, 1000},
 * the share of flows that move when 1 backend, 1% and 10% of the backends leave, when one joins and
 * when one's weight doubles, each next to the ideal; and the Maglev paper's Fig. 12 setup (N =
 * 1000, 1% removed, M ∈ {65537, 655373}).
 *
 * <pre>
 * {@code java -cp benchmarks/target/benchmarks.jar io.lb4j.benchmarks.sim.DistributionReport [flows]}
 * </pre>
 *
 * <p>A backend "leaves" as lb4j drains it: it stays a member with weight 0 (for jump hash a
 * tombstone; the others skip it, which is the same as removing it). Loads are sampled over the
 * given number of flows (1,000,000 by default); the sampling noise floor, sqrt(N / flows), is
 * printed next to the standard deviation.
 */
public final class DistributionReport {
  private static final long SEED = 20261121;
  private static final String[] ALGORITHMS = {
    "MAGLEV-65537", "MAGLEV-655373", "RING_HASH-160", "RENDEZVOUS", "JUMP"
  };

  private DistributionReport() {}

  public static void main(String[] args) {
    int flows = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
    long[] hashes = new long[flows];
    SplittableRandom random = new SplittableRandom(SEED);
    for (int i = 0; i < flows; i++) {
      hashes[i] = random.nextLong();
    }
    System.out.printf(
        Locale.ROOT,
        "# %,d seeded flows; moved = share of flows whose backend"
            + " changed; ideal in brackets%n",
        flows);
    System.out.println(
        "algorithm,N,max/mean,relStdDev,noiseFloor,moved1,ideal1,moved1pct,"
            + "ideal1pct,moved10pct,ideal10pct,movedAdd1,idealAdd1,movedReweight,idealReweight,"
            + "movedReweightSameMax,idealReweightSameMax");
    for (int n : new int[] {10, 100, 1000}) {
      for (String algorithm : ALGORITHMS) {
        if (algorithm.equals("RENDEZVOUS") && n == 1000 && flows > 1_000_000) {
          continue; // O(N) per pick: 10^9+ scores
        }
        row(algorithm, n, hashes);
      }
    }
    fig12(Math.max(flows, 2_000_000));
  }

  private static BackendSelector build(String algorithm, String[] keys, int[] weights) {
    SelectionPolicy policy;
    switch (algorithm) {
      case "MAGLEV-65537":
        policy = SelectionPolicy.maglev(65537);
        break;
      case "MAGLEV-655373":
        policy = SelectionPolicy.maglev(655373);
        break;
      case "RING_HASH-160":
        policy = SelectionPolicy.ringHash(160);
        break;
      case "RENDEZVOUS":
        policy = SelectionPolicy.of(io.lb4j.SelectionAlgorithm.RENDEZVOUS);
        break;
      default:
        policy = SelectionPolicy.of(io.lb4j.SelectionAlgorithm.JUMP);
    }
    return Selectors.of(policy, keys, weights, null, null);
  }

  private static String[] keys(int n) {
    String[] keys = new String[n];
    for (int i = 0; i < n; i++) {
      keys[i] = String.format(Locale.ROOT, "backend-%05d", i);
    }
    return keys;
  }

  private static int[] ones(int n) {
    int[] w = new int[n];
    Arrays.fill(w, 1);
    return w;
  }

  private static int[] pick(BackendSelector s, long[] hashes) {
    int[] out = new int[hashes.length];
    for (int i = 0; i < hashes.length; i++) {
      out[i] = s.select(hashes[i]);
    }
    return out;
  }

  private static double moved(int[] before, int[] after) {
    long m = 0;
    for (int i = 0; i < before.length; i++) {
      m += before[i] != after[i] ? 1 : 0;
    }
    return (double) m / before.length;
  }

  private static void row(String algorithm, int n, long[] hashes) {
    String[] keys = keys(n + 1);
    String[] base = Arrays.copyOf(keys, n);
    int[] picks = pick(build(algorithm, base, ones(n)), hashes);
    long[] counts = new long[n];
    for (int p : picks) {
      counts[p]++;
    }
    double mean = (double) hashes.length / n;
    double max = Arrays.stream(counts).max().getAsLong();
    double var = 0;
    for (long c : counts) {
      var += (c - mean) * (c - mean);
    }
    double relSd = Math.sqrt(var / n) / mean;
    double noise = Math.sqrt(n / (double) hashes.length);

    SplittableRandom random = new SplittableRandom(SEED + n);
    double moved1 = moved(picks, pick(build(algorithm, base, drop(n, 1, random)), hashes));
    int onePct = Math.max(1, n / 100);
    double moved1pct = moved(picks, pick(build(algorithm, base, drop(n, onePct, random)), hashes));
    int tenPct = Math.max(1, n / 10);
    double moved10pct = moved(picks, pick(build(algorithm, base, drop(n, tenPct, random)), hashes));
    // one joins: the last key, so that jump hash adds its last bucket as it must
    int[] withNew = ones(n + 1);
    int[] withoutNew = ones(n + 1);
    withoutNew[n] = 0;
    double movedAdd =
        moved(
            pick(build(algorithm, keys, withoutNew), hashes),
            pick(build(algorithm, keys, withNew), hashes));
    int[] reweighted = ones(n);
    reweighted[n / 2] = 2;
    double movedReweight = moved(picks, pick(build(algorithm, base, reweighted), hashes));
    double idealReweight = 2.0 / (n + 1) - 1.0 / n;
    // the same change while the largest weight stays put: all others at 2, one goes 1 -> 2
    int[] twos = new int[n];
    Arrays.fill(twos, 2);
    twos[n / 2] = 1;
    int[] twosAfter = twos.clone();
    twosAfter[n / 2] = 2;
    double movedSameMax =
        moved(
            pick(build(algorithm, base, twos), hashes),
            pick(build(algorithm, base, twosAfter), hashes));
    double idealSameMax = 2.0 / (2 * n) - 1.0 / (2 * n - 1);
    System.out.printf(
        Locale.ROOT,
        "%s,%d,%.4f,%.4f,%.4f,%.4f%%,%.4f%%,%.4f%%,%.4f%%,%.4f%%,%.4f%%,%.4f%%,%.4f%%,%.4f%%,"
            + "%.4f%%,%.4f%%,%.4f%%%n",
        algorithm,
        n,
        max / mean,
        relSd,
        noise,
        100 * moved1,
        100.0 / n,
        100 * moved1pct,
        100.0 * onePct / n,
        100 * moved10pct,
        100.0 * tenPct / n,
        100 * movedAdd,
        100.0 / (n + 1),
        100 * movedReweight,
        100 * idealReweight,
        100 * movedSameMax,
        100 * idealSameMax);
  }

  /** Returns weights of 1 with {@code k} distinct random members set to 0. */
  private static int[] drop(int n, int k, SplittableRandom random) {
    int[] w = ones(n);
    for (int removed = 0; removed < k; ) {
      int victim = random.nextInt(n);
      if (w[victim] == 1) {
        w[victim] = 0;
        removed++;
      }
    }
    return w;
  }

  /** The Maglev paper's Fig. 12: N = 1000, 1% removed, excess disruption over 10 trials. */
  private static void fig12(int flows) {
    long[] hashes = new long[flows];
    SplittableRandom random = new SplittableRandom(SEED ^ 12);
    for (int i = 0; i < flows; i++) {
      hashes[i] = random.nextLong();
    }
    System.out.println();
    System.out.println(
        "# Maglev paper Fig. 12: N = 1000, 1% (10) removed, mean of 10 trials;"
            + " excess = flows that moved although their backend survived");
    System.out.println("tableSize,excess,total,paper");
    int n = 1000;
    String[] keys = keys(n);
    for (int m : new int[] {65537, 655373}) {
      int[] before = pick(build("MAGLEV-" + m, keys, ones(n)), hashes);
      double excess = 0;
      double total = 0;
      for (int t = 0; t < 10; t++) {
        int[] w = drop(n, 10, random);
        int[] after = pick(build("MAGLEV-" + m, keys, w), hashes);
        long e = 0;
        long all = 0;
        for (int i = 0; i < flows; i++) {
          if (before[i] != after[i]) {
            all++;
            e += w[before[i]] == 1 ? 1 : 0;
          }
        }
        excess += (double) e / flows;
        total += (double) all / flows;
      }
      System.out.printf(
          Locale.ROOT,
          "%d,%.3f%%,%.3f%%,%s%n",
          m,
          10 * excess,
          10 * total,
          m == 65537 ? "~2.3%" : "~0.4-0.8%");
    }
  }
}
