package io.lb4j.benchmarks;

import com.google.common.hash.Hashing;
import io.lb4j.DistributionMode;
import io.lb4j.FlowKey;
import io.lb4j.Protocol;
import io.lb4j.SelectionPolicy;
import io.lb4j.core.hash.FlowHasher;
import io.lb4j.core.hash.Hash64;
import io.lb4j.core.select.Selectors;
import io.lb4j.spi.BackendSelector;
import java.util.Arrays;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
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
 * lb4j's picks next to the references they are judged against, in one class and one run: the hash
 * alone; Guava's {@code Hashing.consistentHash} for jump; a plain {@code TreeMap} ring as many Java
 * libraries build it; and the Maglev paper's lookup, {@code table[hash % M]}, over a table filled
 * by its pseudocode. For issue 17, lb4j's Maglev lookup as it was, over an {@code int} table with
 * the same entries, a {@code byte} table (tried) and a table small enough for L1 (the floor). Also
 * Maglev with the paper's larger table (M = 655373), rendezvous, and the schedulers (round robin,
 * smooth weighted round robin, least connections, weighted least connections, power of two
 * choices). Working sets of 4,096 and 1,048,576 flows.
 *
 * <pre>{@code java -jar benchmarks/target/benchmarks.jar PickReferenceBenchmark -prof gc}</pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 10, time = 1)
@Fork(3)
public class PickReferenceBenchmark {
  private static final long SEED = 42;

  /** A prime table size whose 16-bit table, 8 KiB, stays in any L1 data cache. */
  private static final int L1_TABLE_SIZE = 4099;

  @Param({"3", "10", "100", "1000"})
  public int backends;

  @Param({"4096", "1048576"})
  public int flows;

  private FlowKey[] keys;
  private int mask;
  private int i;
  private BackendSelector maglev;
  private BackendSelector maglevIntTable;
  private BackendSelector maglevByteTable;
  private BackendSelector maglevL1Table;
  private BackendSelector maglevLarge;
  private BackendSelector rendezvous;
  private BackendSelector roundRobin;
  private BackendSelector weightedRoundRobin;
  private BackendSelector leastConnections;
  private BackendSelector weightedLeastConnections;
  private BackendSelector powerOfTwo;
  private BackendSelector jump;
  private BackendSelector ring;
  private TreeMap<Long, Integer> treeRing;
  private int[] paperTable;
  private BackendSelector bounded;

  @Setup
  public void setUp() {
    SplittableRandom r = new SplittableRandom(SEED);
    keys = new FlowKey[flows];
    mask = flows - 1;
    for (int k = 0; k < flows; k++) {
      keys[k] = FlowKey.ipv4(r.nextInt(), r.nextInt(65536), 0x7f000001, 80, Protocol.TCP);
    }
    String[] ids = new String[backends];
    int[] weights = new int[backends];
    for (int k = 0; k < backends; k++) {
      ids[k] = "backend-" + k;
      weights[k] = 1;
    }
    maglev = Selectors.maglev(ids, weights, 65537);
    int[] entries = MaglevReference.entries(maglev, 65537);
    maglevIntTable = new MaglevReference.IntTable(entries);
    maglevByteTable = new MaglevReference.ByteTable(entries);
    maglevL1Table = Selectors.maglev(ids, weights, L1_TABLE_SIZE);
    maglevLarge = Selectors.maglev(ids, weights, 655373);
    rendezvous = Selectors.rendezvous(ids, weights);
    roundRobin = Selectors.roundRobin(ids, weights);
    for (int k = 0; k < backends; k++) {
      weights[k] = 1 + k % 3; // the weighted schedulers see unequal weights
    }
    weightedRoundRobin = Selectors.weightedRoundRobin(ids, weights);
    int[] load = new int[backends];
    for (int k = 0; k < backends; k++) {
      load[k] = r.nextInt(100); // live counts the connection schedulers read
    }
    leastConnections = Selectors.leastConnections(ids, weights, x -> load[x]);
    weightedLeastConnections = Selectors.weightedLeastConnections(ids, weights, x -> load[x]);
    powerOfTwo = Selectors.powerOfTwoChoices(ids, weights, x -> load[x]);
    Arrays.fill(weights, 1);
    jump = Selectors.jump(ids, weights);
    ring = Selectors.ringHash(ids, weights, 160);
    int[] active = new int[backends];
    bounded =
        Selectors.of(
            SelectionPolicy.maglev().withBoundedLoad(), ids, weights, x -> active[x], () -> 0);
    treeRing = new TreeMap<>();
    for (int k = 0; k < backends; k++) {
      long h = Hash64.xxHash64(ids[k], 1);
      for (int p = 0; p < 160; p++) {
        treeRing.put(Hash64.mix64(h + p), k);
      }
    }
    paperTable = MaglevReference.populate(ids, 65537);
  }

  private long hash() {
    return FlowHasher.hash(keys[i++ & mask], DistributionMode.FIVE_TUPLE, SEED);
  }

  /** The denominator: the flow hash alone. */
  @Benchmark
  public long hashOnly() {
    return hash();
  }

  /** lb4j's Maglev pick (multiply-high index into a 16-bit table of 65537 entries, 128 KiB). */
  @Benchmark
  public int maglev() {
    return maglev.select(hash());
  }

  /** The same picks from lb4j's lookup before issue 17, over an int[65537] (256 KiB). */
  @Benchmark
  public int maglevIntTable() {
    return maglevIntTable.select(hash());
  }

  /** Tried: a byte[65537] table (64 KiB), ≤ 256 members only; N = 1000 measures the cost only. */
  @Benchmark
  public int maglevByteTable() {
    return maglevByteTable.select(hash());
  }

  /**
   * lb4j's Maglev pick, the same code over a table of 4,099 entries (8 KiB, in L1): the floor of
   * the lookup's cost whatever the entries' width (too small a table for balance; cost only).
   */
  @Benchmark
  public int maglevL1Table() {
    return maglevL1Table.select(hash());
  }

  /** lb4j's Maglev pick with the paper's larger table, M = 655373 (1.25 MiB of 16-bit entries). */
  @Benchmark
  public int maglevLarge() {
    return maglevLarge.select(hash());
  }

  /** lb4j's rendezvous (HRW): one hash per member, O(N). */
  @Benchmark
  public int rendezvous() {
    return rendezvous.select(hash());
  }

  /** Round robin (the hash is computed and ignored, so the line compares with hashOnly). */
  @Benchmark
  public int roundRobin() {
    return roundRobin.select(hash());
  }

  /** Smooth weighted round robin over weights 1, 2, 3, 1, 2, 3 ... */
  @Benchmark
  public int weightedRoundRobin() {
    return weightedRoundRobin.select(hash());
  }

  /** Least connections: an O(N) scan of live counts. */
  @Benchmark
  public int leastConnections() {
    return leastConnections.select(hash());
  }

  /** Weighted least connections: an O(N) scan of counts per unit of weight. */
  @Benchmark
  public int weightedLeastConnections() {
    return weightedLeastConnections.select(hash());
  }

  /** Power of two choices: two members from the hash, the less loaded one. */
  @Benchmark
  public int powerOfTwoChoices() {
    return powerOfTwo.select(hash());
  }

  /** The paper's lookup: table[hash % M], over the paper-pseudocode table. */
  @Benchmark
  public int maglevPaper() {
    return paperTable[(int) Long.remainderUnsigned(hash(), 65537)];
  }

  /** lb4j's Maglev with bounded load (c = 1.25, nothing full). */
  @Benchmark
  public int maglevBounded() {
    return bounded.select(hash());
  }

  /** lb4j's jump hash. */
  @Benchmark
  public int jump() {
    return jump.select(hash());
  }

  /** Guava's Hashing.consistentHash: the same algorithm, the reference. */
  @Benchmark
  public int jumpGuava() {
    return Hashing.consistentHash(hash(), backends);
  }

  /** lb4j's ring: one binary search of a packed long[]. */
  @Benchmark
  public int ring() {
    return ring.select(hash());
  }

  /** A TreeMap<Long, Integer> ring, as many Java libraries build it (boxes per pick). */
  @Benchmark
  public int ringTreeMap() {
    Map.Entry<Long, Integer> e = treeRing.ceilingEntry(hash());
    return e != null ? e.getValue() : treeRing.firstEntry().getValue();
  }
}
