package io.lb4j;

import java.time.Instant;

/**
 * A change of a backend's health for one rule, with its cause.
 *
 * <p>{@link #toString()} reads {@code http/web-2: HEALTHY -> UNHEALTHY (probe: 3 failures in a row,
 * last REFUSED ...)}.
 *
 * <p>Instances are immutable and thread-safe.
 *
 * @param time when it changed
 * @param rule the rule's name
 * @param backendId the backend's id
 * @param from the state before
 * @param to the state after
 * @param cause why, in words
 * @param lastResult the probe result that caused it, or null when no probe did (override, passive
 *     ejection)
 */
public record HealthEvent(
    Instant time,
    String rule,
    String backendId,
    HealthState from,
    HealthState to,
    String cause,
    ProbeResult lastResult) {

  /**
   * Validates the event.
   *
   * @param time when it changed
   * @param rule the rule's name
   * @param backendId the backend's id
   * @param from the state before
   * @param to the state after
   * @param cause why, in words
   * @param lastResult the probe result that caused it, or null when no probe did (override, passive
   *     ejection)
   */
  public HealthEvent {
    Checks.notNull(time, "time");
    Checks.notNull(rule, "rule");
    Checks.notNull(backendId, "backendId");
    Checks.notNull(from, "from");
    Checks.notNull(to, "to");
    Checks.notNull(cause, "cause");
  }

  @Override
  public String toString() {
    return rule + "/" + backendId + ": " + from + " -> " + to + " (" + cause + ")";
  }
}
