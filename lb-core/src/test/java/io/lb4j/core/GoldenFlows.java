package io.lb4j.core;

import io.lb4j.Backend;
import io.lb4j.BackendPool;
import io.lb4j.FlowKey;
import io.lb4j.Frontend;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancingRule;
import io.lb4j.Protocol;
import io.lb4j.SelectionAlgorithm;
import io.lb4j.SelectionPolicy;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A fixed configuration and a fixed list of flows, and each consistent-hash algorithm's answer for
 * every flow: the golden vectors in {@code golden/flows.tsv}, and what a second JVM prints to show
 * that independent balancers agree.
 *
 * <p>Regenerate the file after a deliberate change of hashing with {@code java -cp <test classpath>
 * io.lb4j.core.GoldenFlows > lb-core/src/test/resources/golden/flows.tsv}.
 */
final class GoldenFlows {
  static final long FLOW_SEED = 0x601DE4L;
  static final int FLOWS = 256;
  static final SelectionAlgorithm[] ALGORITHMS = {
    SelectionAlgorithm.MAGLEV,
    SelectionAlgorithm.RING_HASH,
    SelectionAlgorithm.RENDEZVOUS,
    SelectionAlgorithm.JUMP
  };

  private GoldenFlows() {}

  /** Returns the configuration: one rule per algorithm on ports 8001-8004, one weighted pool. */
  static LoadBalancerConfig config() {
    LoadBalancerConfig.Builder b =
        LoadBalancerConfig.builder()
            .frontend(Frontend.of("fe", "127.0.0.1"))
            .pool(
                BackendPool.of(
                    "pool",
                    Backend.of("alpha", "127.0.0.2"),
                    Backend.of("bravo", "127.0.0.3").withWeight(2),
                    Backend.of("charlie", "127.0.0.4").withWeight(3),
                    Backend.of("delta", "127.0.0.5"),
                    Backend.of("echo", "::1", 9000)));
    for (int i = 0; i < ALGORITHMS.length; i++) {
      b.rule(
          LoadBalancingRule.builder(ALGORITHMS[i].name().toLowerCase())
              .frontend("fe")
              .frontendPort(8001 + i)
              .backendPool("pool")
              .selection(SelectionPolicy.of(ALGORITHMS[i]))
              .build());
    }
    return b.build();
  }

  /** Returns one line per flow: the flow, then the backend id per algorithm, tab-separated. */
  static List<String> lines(long balancerSeed) {
    L4LoadBalancer lb = L4LoadBalancer.builder().config(config()).seed(balancerSeed).build();
    SplittableRandom random = new SplittableRandom(FLOW_SEED);
    List<String> out = new ArrayList<>();
    out.add("# flow\tMAGLEV\tRING_HASH\tRENDEZVOUS\tJUMP (golden vectors, see GoldenFlows)");
    for (int i = 0; i < FLOWS; i++) {
      int src = 0x7f000000 | random.nextInt(1 << 24);
      int port = random.nextInt(65536);
      StringBuilder line =
          new StringBuilder(FlowKey.ipv4(src, port, 0x7f000001, 8001, Protocol.TCP).toString());
      for (int a = 0; a < ALGORITHMS.length; a++) {
        FlowKey flow = FlowKey.ipv4(src, port, 0x7f000001, 8001 + a, Protocol.TCP);
        line.append('\t').append(lb.pick(flow).backend().id());
      }
      out.add(line.toString());
    }
    return out;
  }

  /** Prints the golden lines for the default seed, or for the seed given as the argument. */
  public static void main(String[] args) {
    long seed = args.length > 0 ? Long.parseLong(args[0]) : L4LoadBalancer.DEFAULT_SEED;
    for (String line : lines(seed)) {
      System.out.println(line);
    }
  }
}
