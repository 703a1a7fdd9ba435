package io.lb4j.core.diagnose;

import io.lb4j.Diagnosis;
import io.lb4j.spi.HealthChecker;
import java.time.InstantSource;
import java.util.List;

/**
 * Runs the troubleshooting checks over a {@link BalancerView} and returns the findings: failing
 * probes ({@link ProbeFailingCheck}), data ports ({@link DataPortCheck}), uneven distribution
 * ({@link DistributionCheck}), flows on backends out of rotation ({@link OutOfRotationCheck}),
 * hairpin flows ({@link HairpinCheck}), all backends unhealthy ({@link AllUnhealthyCheck}) and
 * configuration smells ({@link ConfigSmellCheck}). Each check is a small class on its own that
 * reads the view; none reads the balancer.
 *
 * <p>Internal to lb4j: the balancer's {@code diagnose()} is the API.
 *
 * <p>Thread-safe: each call works on its own view. It connects to data ports and so blocks for
 * about one connect timeout; not on an event loop.
 */
public final class Diagnostician {
  private static final List<RuleCheck> AFTER_DATA_PORTS =
      List.of(
          new ProbeFailingCheck(),
          new AllUnhealthyCheck(),
          new DistributionCheck(),
          new ConfigSmellCheck());

  private static final List<RuleCheck> LAST = List.of(new OutOfRotationCheck(), new HairpinCheck());

  private Diagnostician() {}

  /**
   * Diagnoses the balancer seen in {@code view}, connecting to data ports with {@code checker}.
   *
   * @param view the balancer's state
   * @param checker the checker that tries each backend's data port
   * @param clock the wall clock, for the diagnosis's time and the findings' ages
   * @return the findings, worst first
   */
  public static Diagnosis diagnose(BalancerView view, HealthChecker checker, InstantSource clock) {
    Findings out = new Findings(DataPortCheck.connect(view, checker, clock));
    for (RuleView r : view.rules()) {
      for (RuleCheck check : AFTER_DATA_PORTS) {
        check.run(view, r, out);
      }
      DataPortCheck.INSTANCE.run(view, r, out);
      for (RuleCheck check : LAST) {
        check.run(view, r, out);
      }
    }
    return new Diagnosis(view.at(), out.checks(), out.list());
  }

  /**
   * Whether {@code c} of {@code n} is far (4 standard deviations and 50%) from share {@code p}.
   *
   * @param c the new flows one backend got
   * @param n the new flows of all backends
   * @param p the backend's expected share, by weight: above 0 and at most 1
   * @return true if the count is that far from the share
   */
  public static boolean uneven(int c, int n, double p) {
    return DistributionCheck.uneven(c, n, p);
  }
}
