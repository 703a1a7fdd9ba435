package io.lb4j.benchmarks;

import io.lb4j.Backend;
import io.lb4j.BackendPool;
import io.lb4j.FlowKey;
import io.lb4j.Frontend;
import io.lb4j.Lease;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancingRule;
import io.lb4j.Protocol;
import io.lb4j.SelectionAlgorithm;
import io.lb4j.core.L4LoadBalancer;
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
 * A lease taken and released — {@code leaseByKey(rule, key).close()} and, without a key, {@code
 * lease(rule).close()} — next to what a proxied connection costs the balancer: {@code select} of a
 * new flow then {@code flowClosed} (hash, selector, flow-table insert and remove). A Maglev rule of
 * 100 backends; 4,096 precomputed keys and 4,096 flows, each invocation takes the next (a flow is
 * closed before it comes round again, so each select is of a new flow). With lease leak detection
 * {@code OFF} and {@code SIMPLE} (the default: one {@code Cleaner} registration per lease); the
 * reference does not depend on it. Each lease is returned to the blackhole, as a caller holds it
 * for its connection.
 *
 * <pre>{@code java -jar benchmarks/target/benchmarks.jar LeaseBenchmark -prof gc}</pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 10, time = 1)
@Fork(3)
public class LeaseBenchmark {
  private static final int KEYS = 4096;
  private static final int MASK = KEYS - 1;
  private static final String RULE = "rule";

  @Param({"OFF", "SIMPLE"})
  public L4LoadBalancer.LeakDetection leakDetection;

  @Param({"100"})
  public int backends;

  private final long[] keys = new long[KEYS];
  private final FlowKey[] fresh = new FlowKey[KEYS];
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
            .leaseLeakDetection(leakDetection)
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
    SplittableRandom random = new SplittableRandom(42);
    for (int k = 0; k < KEYS; k++) {
      keys[k] = random.nextLong();
      fresh[k] =
          FlowKey.ipv4(random.nextInt(), random.nextInt(65536), 0x7f000001, 80, Protocol.TCP);
    }
    try (Lease l = lb.leaseByKey(RULE, keys[0])) {
      if (!l.isActive() || lb.activeFlows(RULE, l.backend().id()) != 1) {
        throw new IllegalStateException("setup: the lease is not counted");
      }
    }
    if (!lb.select(fresh[0]).isSelected() || !lb.flowClosed(fresh[0])) {
      throw new IllegalStateException("setup: the flow is not recorded");
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    if (lb.leakedLeases() != 0) {
      throw new IllegalStateException("leases leaked: " + lb.leakedLeases());
    }
    lb.close();
  }

  /** A lease by a long key, then its release. */
  @Benchmark
  public Lease leaseByKeyAndClose() {
    Lease l = lb.leaseByKey(RULE, keys[i++ & MASK]);
    l.close();
    return l;
  }

  /** A lease without a key (the rule's selector on a random hash), then its release. */
  @Benchmark
  public Lease leaseAndClose() {
    Lease l = lb.lease(RULE);
    l.close();
    return l;
  }

  /** The reference: a new flow selected (recorded in the flow table), then closed. */
  @Benchmark
  public boolean selectNewFlowAndClose() {
    FlowKey f = fresh[i++ & MASK];
    lb.select(f);
    return lb.flowClosed(f);
  }
}
