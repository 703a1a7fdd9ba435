package io.lb4j;

import java.time.Duration;
import java.time.Instant;

/**
 * One probe of one backend: when it started, its outcome, how long it took and what was seen.
 *
 * <p>{@link #toString()} reads {@code 2026-11-21T12:00:00Z REFUSED 0.4 ms (connection refused)}.
 *
 * <p>Instances are immutable and thread-safe.
 *
 * @param time when the probe started
 * @param outcome its outcome
 * @param latency how long it took until the outcome was known
 * @param detail what was seen, such as {@code HTTP 503} or {@code connection refused}
 */
public record ProbeResult(Instant time, ProbeOutcome outcome, Duration latency, String detail) {

  /**
   * Validates the result.
   *
   * @param time when the probe started
   * @param outcome its outcome
   * @param latency how long it took until the outcome was known
   * @param detail what was seen, such as {@code HTTP 503} or {@code connection refused}
   */
  public ProbeResult {
    Checks.notNull(time, "time");
    Checks.notNull(outcome, "outcome");
    Checks.notNull(latency, "latency");
    Checks.notNull(detail, "detail");
    if (latency.isNegative()) {
      throw new IllegalArgumentException(
          "latency: " + Durations.format(latency) + " (expected: >= 0)");
    }
  }

  /** {@return whether the probe passed} */
  public boolean isSuccess() {
    return outcome.isSuccess();
  }

  @Override
  public String toString() {
    return time
        + " "
        + outcome
        + " "
        + String.format(java.util.Locale.ROOT, "%.1f ms", latency.toNanos() / 1e6)
        + " ("
        + detail
        + ")";
  }
}
