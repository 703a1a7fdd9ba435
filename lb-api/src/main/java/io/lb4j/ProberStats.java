package io.lb4j;

import java.time.Duration;

/**
 * Counters of a balancer's health prober: probes completed and failed, timeouts recorded by the
 * prober itself, and how late probes start against their schedule.
 *
 * <p>Immutable and thread-safe.
 *
 * @param targets targets being probed
 * @param completed probes completed
 * @param failures probes that failed
 * @param backstops probes the prober timed out because the checker had not answered
 * @param latenessP50 median lateness of a probe start against its schedule
 * @param latenessP99 99th percentile of that lateness
 * @param latenessMax the largest lateness
 */
public record ProberStats(
    int targets,
    long completed,
    long failures,
    long backstops,
    Duration latenessP50,
    Duration latenessP99,
    Duration latenessMax) {

  /** The counters of a balancer that probes nothing. */
  public static final ProberStats NONE =
      new ProberStats(0, 0, 0, 0, Duration.ZERO, Duration.ZERO, Duration.ZERO);

  /**
   * Checks the counters.
   *
   * @param targets targets being probed
   * @param completed probes completed
   * @param failures probes that failed
   * @param backstops probes the prober timed out because the checker had not answered
   * @param latenessP50 median lateness of a probe start against its schedule
   * @param latenessP99 99th percentile of that lateness
   * @param latenessMax the largest lateness
   */
  public ProberStats {
    Checks.notNull(latenessP50, "latenessP50");
    Checks.notNull(latenessP99, "latenessP99");
    Checks.notNull(latenessMax, "latenessMax");
  }
}
