package io.lb4j.benchmarks;

import io.lb4j.Backend;
import io.lb4j.BackendPool;
import io.lb4j.Frontend;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancingRule;
import io.lb4j.Selection;
import io.lb4j.SelectionAlgorithm;
import io.lb4j.core.L4LoadBalancer;
import io.lb4j.core.hash.Hash64;
import io.lb4j.core.select.Selectors;
import io.lb4j.spi.BackendSelector;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Selection by application key through the balancer ({@code pickByKey} on a Maglev rule: rule
 * lookup by name, key hash, selector, answer), next to the key hash alone ({@code Hash64.hashWord}
 * for a {@code long}, {@code Hash64.xxHash64Utf8} for a {@code CharSequence}) over the same keys,
 * with the balancer's seed, so both compute the same hash. Between the two, the hash and lb4j's
 * Maglev selector without the balancer; and, on precomputed hashes, the selector alone and the
 * balancer's {@code pickByKeyHash}, to show where the difference goes. Keys are precomputed ({@code
 * long}s, and 17-character strings {@code "tenant-0123456789"}); each invocation takes the next
 * one. Working sets of 4,096 and 1,048,576 distinct keys.
 *
 * <pre>{@code java -jar benchmarks/target/benchmarks.jar KeySelectionBenchmark -prof gc}</pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 10, time = 1)
@Fork(3)
public class KeySelectionBenchmark {
  private static final long SEED = 42;
  private static final String RULE = "rule";

  @Param({"10", "100"})
  public int backends;

  @Param({"4096", "1048576"})
  public int keys;

  private long[] longKeys;
  private long[] hashes;
  private String[] stringKeys;
  private int mask;
  private int i;
  private L4LoadBalancer lb;
  private BackendSelector maglev;

  @Setup(Level.Trial)
  public void setUp() {
    SplittableRandom r = new SplittableRandom(SEED);
    mask = keys - 1;
    longKeys = new long[keys];
    hashes = new long[keys];
    stringKeys = new String[keys];
    for (int k = 0; k < keys; k++) {
      longKeys[k] = r.nextLong();
      hashes[k] = Hash64.hashWord(SEED, longKeys[k]);
      // an odd multiplier is a bijection mod 10^10 (coprime): distinct keys that look random
      stringKeys[k] = String.format("tenant-%010d", (k * 2654435761L) % 10_000_000_000L);
    }
    List<Backend> list = new ArrayList<>();
    String[] ids = new String[backends];
    int[] weights = new int[backends];
    for (int k = 0; k < backends; k++) {
      ids[k] = "backend-" + k;
      weights[k] = 1;
      list.add(Backend.of(ids[k], "127.0." + (k / 250) + "." + (2 + k % 250)));
    }
    lb =
        L4LoadBalancer.builder()
            .seed(SEED)
            .config(
                LoadBalancerConfig.builder()
                    .frontend(Frontend.of("fe", "127.0.0.1"))
                    .pool(new BackendPool("pool", list))
                    .rule(
                        LoadBalancingRule.builder(RULE)
                            .frontend("fe")
                            .frontendPort(80)
                            .backendPool("pool")
                            .algorithm(SelectionAlgorithm.MAGLEV)
                            .build())
                    .build())
            .build();
    maglev = Selectors.maglev(ids, weights, 65537);
    // The reference must compute what the balancer computes: the same hash of the same key.
    for (int k = 0; k < 16; k++) {
      check(lb.keyHash(longKeys[k]) == Hash64.hashWord(SEED, longKeys[k]), "long");
      check(lb.keyHash(stringKeys[k]) == Hash64.xxHash64Utf8(stringKeys[k], SEED), "string");
      check(lb.pickByKey(RULE, longKeys[k]).isSelected(), "selected");
      check(
          lb.pickByKey(RULE, longKeys[k])
              .backend()
              .id()
              .equals(ids[maglev.select(Hash64.hashWord(SEED, longKeys[k]))]),
          "the same Maglev table");
    }
  }

  private static void check(boolean ok, String what) {
    if (!ok) {
      throw new IllegalStateException("setup: " + what);
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    lb.close();
  }

  /** The denominator for long keys: the key hash alone. */
  @Benchmark
  public long hashLong() {
    return Hash64.hashWord(SEED, longKeys[i++ & mask]);
  }

  /** The key hash and lb4j's Maglev selector, without the balancer (no rule lookup, no answer). */
  @Benchmark
  public int hashAndMaglevLong() {
    return maglev.select(Hash64.hashWord(SEED, longKeys[i++ & mask]));
  }

  /** The balancer's answer for a long key: {@code pickByKey(rule, long)}. */
  @Benchmark
  public Selection pickByLongKey() {
    return lb.pickByKey(RULE, longKeys[i++ & mask]);
  }

  /** lb4j's Maglev selector on precomputed key hashes: the selector's share of the pick. */
  @Benchmark
  public int maglevOfHash() {
    return maglev.select(hashes[i++ & mask]);
  }

  /**
   * The balancer on precomputed key hashes, {@code pickByKeyHash(rule, hash)}: less {@link
   * #maglevOfHash}, the rule lookup by name and the answer.
   */
  @Benchmark
  public Selection pickByKeyHash() {
    return lb.pickByKeyHash(RULE, hashes[i++ & mask]);
  }

  /** The denominator for string keys: XXH64 of the key's UTF-8, encoded as it hashes. */
  @Benchmark
  public long hashString() {
    return Hash64.xxHash64Utf8(stringKeys[i++ & mask], SEED);
  }

  /**
   * Not a denominator: the same XXH64 over {@code getBytes(UTF_8)} (allocates the bytes), to show
   * what encoding as it hashes costs or saves.
   */
  @Benchmark
  public long hashStringBytes() {
    return Hash64.xxHash64(stringKeys[i++ & mask], SEED);
  }

  /** The key hash and lb4j's Maglev selector, without the balancer. */
  @Benchmark
  public int hashAndMaglevString() {
    return maglev.select(Hash64.xxHash64Utf8(stringKeys[i++ & mask], SEED));
  }

  /** The balancer's answer for a string key: {@code pickByKey(rule, CharSequence)}. */
  @Benchmark
  public Selection pickByStringKey() {
    return lb.pickByKey(RULE, stringKeys[i++ & mask]);
  }
}
