package io.lb4j.netty;

import java.util.Arrays;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Logs the client connections a rule closed because every connect attempt failed: one warning when
 * the set of backends that failed changes, then a count, not a line per connection. Under backend
 * churn the same few dead backends end connection after connection; what an operator needs is which
 * backends, since when, and how many connections — once.
 *
 * <p>An <i>episode</i> is a run of give-ups whose tried backends are the same set. Its first
 * give-up is logged at WARN with the flow, the attempts, the last target and its error; later ones
 * are counted ({@link LogLimiter}), and the count is logged at INFO when the episode ends: when a
 * give-up with another set comes, or with the next give-up at least {@link #SUMMARY_NANOS} after
 * the episode began.
 *
 * <p>Thread-safe: give-ups are rare next to connections, so one monitor guards the episode.
 */
final class GiveUpLog {
  private static final Logger logger = LoggerFactory.getLogger(ProxyFrontendHandler.class);

  /** The longest an episode's count waits for the next give-up before it is logged: 10 s. */
  static final long SUMMARY_NANOS = LogLimiter.WINDOW_NANOS;

  private final LogLimiter limiter = new LogLimiter();
  private String rule; // of the episode; a log belongs to one route, so to one rule
  private String episode; // the sorted ids of the backends tried, or null
  private long total;

  /**
   * Records that {@code flow} of rule {@code rule} was closed after {@code attempts} failed
   * connects to {@code tried[0..attempts)}, the last to {@code target} with {@code cause}; logs per
   * the class's rule. Returns whether this give-up was logged at WARN (the first of its episode).
   */
  synchronized boolean gaveUp(
      String rule,
      Object flow,
      int attempts,
      String[] tried,
      Object target,
      Throwable cause,
      long nowNanos) {
    total++;
    String[] ids = Arrays.copyOf(tried, attempts);
    Arrays.sort(ids);
    String key = String.join(", ", ids);
    long count;
    if (key.equals(episode)) {
      count = limiter.pass(nowNanos);
      if (count < 0) {
        return false; // counted for the episode's summary
      }
    } else {
      count = limiter.reset();
      limiter.pass(nowNanos); // the new episode's first line
    }
    flush(count);
    this.rule = rule;
    episode = key;
    logger.warn(
        "rule {}: closing {} after {} failed connect attempts (backends {}), last to {} ({});"
            + " no untried backend was left. Further closes with the same backends are counted",
        rule,
        flow,
        attempts,
        key,
        target,
        String.valueOf(cause)); // text: a Throwable last would be taken for a stack trace to print
    return true;
  }

  private void flush(long count) {
    if (count > 0) {
      logger.info(
          "rule {}: {} more client connections closed after failed connects to backends {}"
              + " ({} since the proxy started)",
          rule,
          count,
          episode,
          total - 1);
    }
  }

  /** Returns the give-ups recorded since the log was made. */
  synchronized long total() {
    return total;
  }
}
