package io.lb4j.benchmarks;

import io.lb4j.Backend;
import io.lb4j.BackendPool;
import io.lb4j.FlowKey;
import io.lb4j.Frontend;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancingRule;
import io.lb4j.Protocol;
import io.lb4j.Selection;
import io.lb4j.SelectionAlgorithm;
import io.lb4j.core.L4LoadBalancer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
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
 * The balancer's data plane: {@code pick} (rule lookup, hash, selector) and {@code select} of a
 * known flow (rule lookup, flow-table hit), next to {@code HashMap.get} on the same keys.
 *
 * <pre>{@code java -jar benchmarks/target/benchmarks.jar LoadBalancerBenchmark -prof gc}</pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 10, time = 1)
@Fork(3)
public class LoadBalancerBenchmark {
  private static final int FLOWS = 4096;
  private static final int MASK = FLOWS - 1;

  @Param({"MAGLEV", "LEAST_CONNECTIONS"})
  public SelectionAlgorithm algorithm;

  @Param({"100"})
  public int backends;

  private final FlowKey[] flows = new FlowKey[FLOWS];
  private final FlowKey[] fresh = new FlowKey[FLOWS];
  private final Map<FlowKey, Selection> hashMap = new HashMap<>();
  private L4LoadBalancer lb;
  private int i;

  @Setup(Level.Trial)
  public void setUp() {
    List<Backend> list = new ArrayList<>();
    for (int k = 0; k < backends; k++) {
      list.add(Backend.of("backend-" + k, "127.0." + (k / 250) + "." + (2 + k % 250)));
    }
    lb =
        L4LoadBalancer.builder()
            .config(
                LoadBalancerConfig.builder()
                    .frontend(Frontend.of("fe", "127.0.0.1"))
                    .pool(new BackendPool("pool", list))
                    .rule(
                        LoadBalancingRule.builder("rule")
                            .frontend("fe")
                            .frontendPort(80)
                            .backendPool("pool")
                            .algorithm(algorithm)
                            .build())
                    .build())
            .build();
    SplittableRandom random = new SplittableRandom(42);
    for (int k = 0; k < FLOWS; k++) {
      flows[k] =
          FlowKey.ipv4(random.nextInt(), random.nextInt(65536), 0x7f000001, 80, Protocol.TCP);
      hashMap.put(flows[k], lb.select(flows[k]));
      fresh[k] =
          FlowKey.ipv4(random.nextInt(), random.nextInt(65536), 0x7f000001, 80, Protocol.TCP);
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    lb.close();
  }

  /** A new flow's answer without recording it. */
  @Benchmark
  public Selection pick() {
    return lb.pick(flows[i++ & MASK]);
  }

  /** A known flow's answer from the flow table (restarts its idle timer). */
  @Benchmark
  public Selection selectKnownFlow() {
    return lb.select(flows[i++ & MASK]);
  }

  /** A new flow: selected (hash, selector, flow-table insert), then closed (flow-table remove). */
  @Benchmark
  public boolean selectNewFlow() {
    FlowKey f = fresh[i++ & MASK];
    lb.select(f);
    return lb.flowClosed(f);
  }

  /** The reference: a plain {@code HashMap.get} of the same keys. */
  @Benchmark
  public Selection hashMapGet() {
    return hashMap.get(flows[i++ & MASK]);
  }
}
