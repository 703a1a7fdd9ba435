package io.lb4j.benchmarks;

import io.lb4j.FlowKey;
import io.lb4j.Protocol;
import io.lb4j.core.flow.FlowTable;
import java.util.HashMap;
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
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The flow table (lb4j's open-addressing table with idle expiry) against {@code HashMap} on the
 * same keys: hit, miss and insert, and hits from 1 and 2 threads. Lookups use keys equal to the
 * inserted ones but other instances, as a data path builds a key per connection or packet; so
 * {@code HashMap} compares fields too instead of short-cutting on the same reference.
 *
 * <pre>{@code java -jar benchmarks/target/benchmarks.jar FlowTableBenchmark -prof gc}</pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 10, time = 1)
@Fork(3)
public class FlowTableBenchmark {
  @Param({"10000", "1000000"})
  public int flows;

  private FlowKey[] present; // equal to the inserted keys, other instances
  private FlowKey[] absent;
  private FlowTable<Integer> table;
  private final HashMap<FlowKey, Integer> map = new HashMap<>();
  private static final Integer VALUE = 7;

  @Setup(Level.Trial)
  public void setUp() {
    SplittableRandom r = new SplittableRandom(42);
    present = new FlowKey[flows];
    absent = new FlowKey[flows];
    table =
        FlowTable.<Integer>builder()
            .capacity(flows * 2L)
            // maintenance every second on the shared maintenance thread, as live
            .idleTimeoutNanos(v -> TimeUnit.MINUTES.toNanos(10))
            .build();
    for (int k = 0; k < flows; k++) {
      int source = r.nextInt();
      int port = r.nextInt(65536);
      FlowKey inserted = FlowKey.ipv4(source, port, 0x7f000001, 80, Protocol.TCP);
      present[k] = FlowKey.ipv4(source, port, 0x7f000001, 80, Protocol.TCP);
      absent[k] = FlowKey.ipv4(r.nextInt(), r.nextInt(65536), 0x7f000002, 81, Protocol.TCP);
      table.putIfAbsent(inserted, VALUE);
      map.put(inserted, VALUE);
    }
  }

  /** Per-thread position in the key arrays. */
  @State(Scope.Thread)
  public static class Cursor {
    int i;

    int next(int n) {
      int v = i++;
      if (i == n) {
        i = 0;
      }
      return v;
    }
  }

  @Benchmark
  public Integer lookupHit(Cursor c) {
    return table.get(present[c.next(flows)]);
  }

  @Benchmark
  @Threads(2)
  public Integer lookupHit2Threads(Cursor c) {
    return table.get(present[c.next(flows)]);
  }

  @Benchmark
  public Integer lookupMiss(Cursor c) {
    return table.get(absent[c.next(flows)]);
  }

  /** Inserts a new flow and removes it again (the table stays the same size). */
  @Benchmark
  public Integer insertAndRemove(Cursor c) {
    FlowKey k = absent[c.next(flows)];
    table.putIfAbsent(k, VALUE);
    return table.remove(k);
  }

  @Benchmark
  public Integer hashMapGet(Cursor c) {
    return map.get(present[c.next(flows)]);
  }

  @Benchmark
  @Threads(2)
  public Integer hashMapGet2Threads(Cursor c) {
    return map.get(present[c.next(flows)]);
  }

  @Benchmark
  public Integer hashMapMiss(Cursor c) {
    return map.get(absent[c.next(flows)]);
  }
}
