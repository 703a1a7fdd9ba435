package io.lb4j;

import java.time.Duration;

/**
 * Passive health: connect failures that the data plane reports eject a backend from a rule.
 *
 * <p>After {@code consecutiveFailures} failures in a row the backend gets no new flows for {@code
 * baseEjectionTime × k}, where {@code k} counts its ejections so far, capped at {@code
 * maxEjectionTime}; a success resets the run of failures and, after a quiet period as long as the
 * last ejection, the count k. When the ejection time has passed, the backend returns with its next
 * passing probe, or at once when the rule has no probe. At most {@code maxEjectionPercent} of a
 * rule's backends are ejected at a time, and always at least one may be.
 *
 * <p>Defaults are Envoy's for local-origin failures: 5 failures, 30 s, at most 300 s; at most 50%
 * ejected (Envoy: 10%, which with a few backends ejects none but one).
 *
 * <p>Instances are immutable and thread-safe.
 *
 * @param consecutiveFailures failures in a row that eject, or 0 to turn passive health off
 * @param baseEjectionTime the first ejection's length
 * @param maxEjectionTime the longest ejection
 * @param maxEjectionPercent the most backends of a rule ejected at once, as a percentage
 */
public record OutlierDetection(
    int consecutiveFailures,
    Duration baseEjectionTime,
    Duration maxEjectionTime,
    int maxEjectionPercent) {

  /** The defaults: 5 failures, 30 s, 300 s, 50%. */
  public static final OutlierDetection DEFAULT =
      new OutlierDetection(5, Duration.ofSeconds(30), Duration.ofSeconds(300), 50);

  /** Passive health turned off. */
  public static final OutlierDetection DISABLED =
      new OutlierDetection(0, Duration.ofSeconds(30), Duration.ofSeconds(300), 50);

  /**
   * Validates the settings.
   *
   * @param consecutiveFailures failures in a row that eject, or 0 to turn passive health off
   * @param baseEjectionTime the first ejection's length
   * @param maxEjectionTime the longest ejection
   * @param maxEjectionPercent the most backends of a rule ejected at once, as a percentage
   */
  public OutlierDetection {
    Checks.range("consecutiveFailures", consecutiveFailures, 0, 1000);
    Checks.positive("baseEjectionTime", baseEjectionTime);
    Checks.positive("maxEjectionTime", maxEjectionTime);
    if (maxEjectionTime.compareTo(baseEjectionTime) < 0) {
      throw new IllegalArgumentException(
          "maxEjectionTime: "
              + Durations.format(maxEjectionTime)
              + " (expected: >= baseEjectionTime "
              + Durations.format(baseEjectionTime)
              + ")");
    }
    Checks.range("maxEjectionPercent", maxEjectionPercent, 0, 100);
  }

  /** {@return whether passive health is on} */
  public boolean isEnabled() {
    return consecutiveFailures > 0;
  }
}
