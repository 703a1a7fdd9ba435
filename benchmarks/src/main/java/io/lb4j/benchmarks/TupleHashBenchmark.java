package io.lb4j.benchmarks;

import com.google.common.hash.HashFunction;
import com.google.common.hash.Hashing;
import io.lb4j.DistributionMode;
import io.lb4j.FlowKey;
import io.lb4j.Protocol;
import io.lb4j.core.hash.FlowHasher;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import net.openhft.hashing.LongHashFunction;
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
 * The flow hash per distribution mode, IPv4 and IPv6, against reference hashes over the same bytes
 * (the words lb4j hashes, little-endian): OpenHFT's xxHash64 and Guava's murmur3_128.
 *
 * <pre>{@code java -jar benchmarks/target/benchmarks.jar TupleHashBenchmark -prof gc}</pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 10, time = 1)
@Fork(3)
public class TupleHashBenchmark {
  private static final int FLOWS = 4096;
  private static final int MASK = FLOWS - 1;
  private static final long SEED = 42;

  @Param({"4", "6"})
  public int ip;

  @Param({"FIVE_TUPLE", "SOURCE_IP"})
  public DistributionMode mode;

  private final FlowKey[] flows = new FlowKey[FLOWS];
  private final byte[][] bytes = new byte[FLOWS][];
  private final LongHashFunction xx = LongHashFunction.xx(SEED);
  private final HashFunction murmur = Hashing.murmur3_128((int) SEED);
  private int i;

  @Setup
  public void setUp() {
    SplittableRandom r = new SplittableRandom(SEED);
    for (int k = 0; k < FLOWS; k++) {
      FlowKey f =
          ip == 4
              ? FlowKey.ipv4(r.nextInt(), r.nextInt(65536), 0x7f000001, 80, Protocol.TCP)
              : FlowKey.ipv6(
                  r.nextLong(),
                  r.nextLong(),
                  r.nextInt(65536),
                  0x20010db800000000L,
                  1,
                  443,
                  Protocol.TCP);
      flows[k] = f;
      long last =
          mode == DistributionMode.FIVE_TUPLE
              ? (long) f.sourcePort() << 40 | (long) f.destinationPort() << 16 | 6
              : 0;
      ByteBuffer b = ByteBuffer.allocate(ip == 4 ? 24 : 40).order(ByteOrder.LITTLE_ENDIAN);
      if (ip == 6) {
        b.putLong(f.sourceHigh())
            .putLong(f.sourceLow())
            .putLong(f.destinationHigh())
            .putLong(f.destinationLow())
            .putLong(last);
      } else {
        b.putLong(f.sourceLow()).putLong(f.destinationLow()).putLong(last);
      }
      bytes[k] = b.array();
    }
  }

  /** lb4j's FlowHasher on the flow record. */
  @Benchmark
  public long lb4j() {
    return FlowHasher.hash(flows[i++ & MASK], mode, SEED);
  }

  /** OpenHFT zero-allocation-hashing xxHash64 over the same bytes. */
  @Benchmark
  public long zahXx64() {
    return xx.hashBytes(bytes[i++ & MASK]);
  }

  /** Guava murmur3_128 over the same bytes (allocates a HashCode). */
  @Benchmark
  public long guavaMurmur3() {
    return murmur.hashBytes(bytes[i++ & MASK]).asLong();
  }
}
