package io.lb4j.core.diagnose;

import io.lb4j.DistributionMode;
import io.lb4j.Finding.Check;
import io.lb4j.Finding.Severity;
import io.lb4j.IpLiteral;
import io.lb4j.LoadBalancingRule;
import io.lb4j.SelectionAlgorithm;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Checkpoint 4: recent new flows are uneven against the weights — and the cause, named only where
 * it applies. Client-IP persistence and a dominant source address matter only to a rule that hashes
 * the client; a round-robin rule ignores the source, so its causes are the backends out of rotation
 * or the scheduler's own input (retries after connect failures, backends that came and went). Least
 * connections and P2C follow load, not weights, by design, and are not judged.
 */
final class DistributionCheck implements RuleCheck {
  /** Fewest new flows per backend in rotation before the distribution is judged. */
  static final int SAMPLES_PER_BACKEND = 20;

  @Override
  public void run(BalancerView view, RuleView r, Findings out) {
    LoadBalancingRule lr = r.lb();
    if (lr == null) {
      return;
    }
    SelectionAlgorithm algorithm = lr.selection().algorithm();
    boolean hashed = algorithm.isConsistentHash();
    boolean bounded = lr.selection().boundedLoadFactor() > 0;
    if (!hashed
        && algorithm != SelectionAlgorithm.ROUND_ROBIN
        && algorithm != SelectionAlgorithm.WEIGHTED_ROUND_ROBIN) {
      return;
    }
    List<BackendView> serving = r.members().stream().filter(BackendView::serving).toList();
    if (serving.size() < 2) {
      return;
    }
    List<RuleView.NewFlow> samples = r.newFlows();
    int n = samples.size();
    if (n < SAMPLES_PER_BACKEND * serving.size()) {
      return;
    }
    out.ran(1);
    Map<String, Integer> counts = new HashMap<>();
    Map<InetAddress, Integer> sources = new HashMap<>();
    for (RuleView.NewFlow s : samples) {
      counts.merge(s.backendId(), 1, Integer::sum);
      if (s.flow() != null) { // null for a lease taken by key: no source to count
        sources.merge(s.flow().sourceAddress(), 1, Integer::sum);
      }
    }
    long configured = serving.stream().mapToLong(s -> s.backend().weight()).sum();
    long rotation =
        serving.stream().filter(BackendView::inRotation).mapToLong(s -> s.backend().weight()).sum();
    boolean unevenVsConfig = false;
    boolean unevenVsRotation = false;
    List<String> evidence = new ArrayList<>();
    for (BackendView s : serving) {
      int c = counts.getOrDefault(s.id(), 0);
      double p = (double) s.backend().weight() / configured;
      unevenVsConfig |= uneven(c, n, p);
      double q = s.inRotation() ? (double) s.backend().weight() / rotation : 0;
      unevenVsRotation |= s.inRotation() && uneven(c, n, q);
      evidence.add(
          String.format(
              Locale.ROOT,
              "%s weight %d: %d of %d new flows (%.1f%%), its weight's share %.1f%%%s",
              s.id(),
              s.backend().weight(),
              c,
              n,
              100.0 * c / n,
              100.0 * p,
              s.inRotation()
                  ? ""
                  : " (out of rotation: " + s.exclusion() + ", " + s.cause() + ")"));
    }
    int keyed = n - sources.values().stream().mapToInt(Integer::intValue).sum();
    boolean byKey = keyed * 2 > n; // mostly leases taken by application key: keys decide
    Map.Entry<InetAddress, Integer> top =
        sources.entrySet().stream().max(Map.Entry.comparingByValue()).orElse(null);
    double topShare = top == null ? 0 : (double) top.getValue() / n;
    if (hashed && byKey) {
      evidence.add(
          String.format(
              Locale.ROOT,
              "%d of %d new flows are leases taken by application key: the keys decide where"
                  + " they go",
              keyed,
              n));
    } else if (hashed) {
      evidence.add(
          String.format(
              Locale.ROOT,
              "%d distinct source addresses; the busiest, %s, opened %.1f%% of new flows",
              sources.size(),
              IpLiteral.format(top.getKey()),
              100.0 * topShare));
    } else {
      evidence.add(algorithm + " ignores the source address and port");
    }
    List<BackendView> outOfRotation = serving.stream().filter(s -> !s.inRotation()).toList();
    DistributionMode mode = lr.distributionMode();
    if (unevenVsRotation && !bounded) {
      String what;
      String fix;
      if (!hashed) {
        what =
            "new flows are uneven against the weights although "
                + algorithm
                + " ignores the source: the scheduler's input changed during the window";
        fix =
            "look for connect failures (each retry moves a flow to the next backend) and for"
                + " backends that left and rejoined rotation in the window; see the other"
                + " findings";
      } else if (byKey) {
        what =
            "new leases are uneven: "
                + keyed
                + " of them were taken by application key, and a few hot keys send their"
                + " connections to their one backend each";
        fix =
            "set boundedLoadFactor (e.g. 1.25) so a hot key's connections spill to the next"
                + " backend, or key by something with more distinct values";
      } else if (mode != DistributionMode.FIVE_TUPLE && sources.size() < 10 * serving.size()) {
        what =
            "new flows are uneven: client-IP persistence ("
                + mode
                + ") with only "
                + sources.size()
                + " distinct clients sends each client's flows to one backend";
        fix =
            "use FIVE_TUPLE distribution unless the application needs a client to stay on one"
                + " backend; persistence evens out only with many clients";
      } else if (top != null && topShare >= 0.5) {
        what =
            String.format(
                Locale.ROOT,
                "new flows are uneven: one source address, %s, opens %.0f%% of them (clients"
                    + " behind a proxy or NAT look like one client)",
                IpLiteral.format(top.getKey()),
                100 * topShare);
        fix =
            mode == DistributionMode.FIVE_TUPLE
                ? "the source ports still spread its flows; if they do not, the client reuses"
                    + " few connections: have it open more, or balance behind the proxy"
                : "switch to FIVE_TUPLE so the source port spreads one address's flows, or"
                    + " balance behind the proxy or NAT";
      } else {
        what =
            "new flows are uneven against the weights, with many sources and no backend out"
                + " of rotation";
        fix =
            "look at the backends' keys and weights (consistent hashing with few backends is"
                + " uneven by a few percent; MAGLEV is the most even), and at long-lived flows";
      }
      out.add(Severity.WARNING, Check.UNEVEN_DISTRIBUTION, r.name(), null, what, evidence, fix);
    } else if (unevenVsConfig && !outOfRotation.isEmpty()) {
      out.add(
          Severity.WARNING,
          Check.UNEVEN_DISTRIBUTION,
          r.name(),
          null,
          "new flows are uneven: "
              + outOfRotation.size()
              + " of "
              + serving.size()
              + " backends are out of rotation ("
              + String.join(
                  ", ", outOfRotation.stream().map(s -> s.id() + " " + s.exclusion()).toList())
              + ") and the others take their share",
          evidence,
          "bring the backends back (see their probe findings), or remove them from the pool");
    } else if (serving.stream().mapToInt(s -> s.backend().weight()).distinct().count() > 1) {
      out.add(
          Severity.INFO,
          Check.UNEVEN_DISTRIBUTION,
          r.name(),
          null,
          "new flows follow unequal weights: shares differ by design",
          evidence,
          "nothing to do if the weights are meant; set equal weights for equal shares");
    }
  }

  /** Whether {@code c} of {@code n} is far (4 standard deviations and 50%) from share {@code p}. */
  static boolean uneven(int c, int n, double p) {
    double expected = n * p;
    double sd = Math.sqrt(n * p * (1 - p));
    double off = Math.abs(c - expected);
    return off > 4 * Math.max(sd, 1) && off > 0.5 * expected;
  }
}
