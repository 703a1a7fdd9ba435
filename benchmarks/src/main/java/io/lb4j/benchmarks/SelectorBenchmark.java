package io.lb4j.benchmarks;

import io.lb4j.DistributionMode;
import io.lb4j.FlowKey;
import io.lb4j.Protocol;
import io.lb4j.SelectionAlgorithm;
import io.lb4j.SelectionPolicy;
import io.lb4j.core.hash.FlowHasher;
import io.lb4j.core.select.Selectors;
import io.lb4j.spi.BackendSelector;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The pick hot path: hash a flow's 5-tuple and select a backend, per consistent-hash algorithm,
 * with the hash alone as the denominator in the same run.
 *
 * <pre>{@code java -jar benchmarks/target/benchmarks.jar SelectorBenchmark -prof gc}</pre>
 *
 * <p>Flows are precomputed (seeded) and indexed with {@code i++ & MASK}, so nothing is allocated
 * while measuring; {@code -prof gc} should show 0 B/op for every method.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 10, time = 1)
@Fork(3)
public class SelectorBenchmark {
  private static final int FLOWS = 4096;
  private static final int MASK = FLOWS - 1;
  private static final long SEED = 42;

  @Param({"MAGLEV", "RING_HASH", "RENDEZVOUS", "JUMP"})
  public SelectionAlgorithm algorithm;

  @Param({"10", "100", "1000"})
  public int backends;

  private final FlowKey[] flows = new FlowKey[FLOWS];
  private BackendSelector selector;
  private int i;

  @Setup
  public void setUp() {
    SplittableRandom random = new SplittableRandom(SEED);
    for (int k = 0; k < FLOWS; k++) {
      flows[k] =
          FlowKey.ipv4(random.nextInt(), random.nextInt(65536), 0x7f000001, 80, Protocol.TCP);
    }
    String[] keys = new String[backends];
    int[] weights = new int[backends];
    for (int k = 0; k < backends; k++) {
      keys[k] = "backend-" + k;
      weights[k] = 1;
    }
    selector = Selectors.of(SelectionPolicy.of(algorithm), keys, weights, null, null);
  }

  /** The denominator: the 5-tuple hash alone. */
  @Benchmark
  public long hashOnly() {
    return FlowHasher.hash(flows[i++ & MASK], DistributionMode.FIVE_TUPLE, SEED);
  }

  /** Hash plus selection. */
  @Benchmark
  public int pick() {
    return selector.select(FlowHasher.hash(flows[i++ & MASK], DistributionMode.FIVE_TUPLE, SEED));
  }
}
