package io.lb4j.examples;

import io.lb4j.AdminState;
import io.lb4j.Backend;
import io.lb4j.BackendPool;
import io.lb4j.FlowKey;
import io.lb4j.Frontend;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancingRule;
import io.lb4j.Protocol;
import io.lb4j.SelectionAlgorithm;
import io.lb4j.core.L4LoadBalancer;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Sends synthetic flows through a balancer per algorithm, prints how evenly they spread, then takes
 * one backend out and prints how many new-flow assignments moved, against the ideal 1/N: once
 * drained (it stays a member with no new flows) and once removed from the pool.
 *
 * <pre>{@code java -jar examples/target/lb4j-examples.jar [backends,...] [flows]}</pre>
 */
public final class DistributionExample {
  public static void main(String[] args) {
    String[] sizes = (args.length > 0 ? args[0] : "5").split(",");
    int flows = args.length > 1 ? Integer.parseInt(args[1]) : 1_000_000;
    for (String size : sizes) {
      run(Integer.parseInt(size.trim()), flows);
    }
  }

  static void run(int n, int flowCount) {
    List<Backend> backends = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      backends.add(
          Backend.of(String.format("web-%04d", i), "127.0." + (i / 250) + "." + (2 + i % 250)));
    }
    SplittableRandom random = new SplittableRandom(2026);
    FlowKey[] flows = new FlowKey[flowCount];
    for (int i = 0; i < flowCount; i++) {
      flows[i] =
          FlowKey.ipv4(random.nextInt(), random.nextInt(65536), 0x7f000001, 80, Protocol.TCP);
    }
    System.out.printf(
        "%n%d backends, %,d flows; then %s is drained, then removed"
            + " (ideal move: 1/N = %.3f%%)%n",
        n, flowCount, backends.get(0).id(), 100.0 / n);
    System.out.printf(
        "%-27s %9s %9s %16s %16s%n",
        "algorithm", "max/mean", "min/mean", "moved (drained)", "moved (removed)");
    for (SelectionAlgorithm algorithm : SelectionAlgorithm.values()) {
      LoadBalancerConfig config =
          LoadBalancerConfig.builder()
              .frontend(Frontend.of("web", "127.0.0.1"))
              .pool(new BackendPool("web", backends))
              .rule(
                  LoadBalancingRule.builder("http")
                      .frontend("web")
                      .frontendPort(80)
                      .backendPool("web")
                      .algorithm(algorithm)
                      .build())
              .build();
      try (L4LoadBalancer lb =
          L4LoadBalancer.builder().config(config).flowTableCapacity(flowCount).build()) {
        int[] counts = new int[n];
        String[] before = new String[flowCount];
        for (int i = 0; i < flowCount; i++) {
          // select() records each flow, so the connection schedulers see the load
          before[i] = lb.select(flows[i]).backend().id();
          counts[Integer.parseInt(before[i].substring(4))]++;
        }
        double mean = (double) flowCount / n;
        int max = 0;
        int min = Integer.MAX_VALUE;
        for (int c : counts) {
          max = Math.max(max, c);
          min = Math.min(min, c);
        }
        String drained = "(not a hash)";
        String removed = "";
        if (algorithm.isConsistentHash()) {
          lb.setAdminState("web", backends.get(0).id(), AdminState.DRAINING);
          drained = moved(lb, flows, before);
          lb.removeBackend("web", backends.get(0).id());
          removed = moved(lb, flows, before);
        }
        System.out.printf(
            "%-27s %9.4f %9.4f %16s %16s%n", algorithm, max / mean, min / mean, drained, removed);
        if (n <= 10) {
          StringBuilder line = new StringBuilder("    per backend:");
          for (int c : counts) {
            line.append(String.format(" %,d", c));
          }
          System.out.println(line);
        }
      }
    }
    System.out.println(
        "Established flows never move: the flow table pins them (see"
            + " EmbeddedSelectionExample). Jump hash can only lose its last bucket: drain, don't"
            + " remove.");
  }

  /** Returns the share of flows whose new-flow answer is no longer {@code before}. */
  private static String moved(L4LoadBalancer lb, FlowKey[] flows, String[] before) {
    int m = 0;
    for (int i = 0; i < flows.length; i++) {
      m += lb.pick(flows[i]).backend().id().equals(before[i]) ? 0 : 1;
    }
    return String.format("%.3f%%", 100.0 * m / flows.length);
  }
}
