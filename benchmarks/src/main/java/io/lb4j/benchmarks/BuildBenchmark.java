package io.lb4j.benchmarks;

import io.lb4j.core.select.Selectors;
import io.lb4j.spi.BackendSelector;
import java.util.Arrays;
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
 * Table builds: lb4j's Maglev against the paper's pseudocode written plainly (same M, same N), a
 * rebuild with one backend gone, and the ring.
 *
 * <pre>{@code java -jar benchmarks/target/benchmarks.jar BuildBenchmark -prof gc}</pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 10, time = 1)
@Fork(3)
public class BuildBenchmark {
  @Param({"10", "100", "1000"})
  public int backends;

  private String[] keys;
  private int[] weights;
  private int[] minusOne;

  @Setup
  public void setUp() {
    keys = new String[backends];
    weights = new int[backends];
    for (int k = 0; k < backends; k++) {
      keys[k] = "backend-" + k;
      weights[k] = 1;
    }
    minusOne = Arrays.copyOf(weights, backends);
    minusOne[backends / 2] = 0;
  }

  /** lb4j's Maglev build, M = 65537. */
  @Benchmark
  public BackendSelector maglevBuild() {
    return Selectors.maglev(keys, weights, 65537);
  }

  /** The paper's Pseudocode 1, plainly, M = 65537: the reference. */
  @Benchmark
  public int[] maglevReferenceBuild() {
    return MaglevReference.populate(keys, 65537);
  }

  /** lb4j's Maglev build after one backend left. */
  @Benchmark
  public BackendSelector maglevRebuildMinusOne() {
    return Selectors.maglev(keys, minusOne, 65537);
  }

  /** lb4j's ring build, 160 points per backend. */
  @Benchmark
  public BackendSelector ringBuild() {
    return Selectors.ringHash(keys, weights, 160);
  }
}
