package io.lb4j.netty;

import java.util.concurrent.TimeUnit;

/**
 * At most one log line per {@link #WINDOW_NANOS} for one kind of event, with a count of the lines
 * left out: a refusal or a give-up repeats once per connection, thousands of times a second under a
 * scan or an outage, and what an operator needs is the first one and how many followed.
 *
 * <p>{@link #pass} is given the time, so a test drives it with a fake clock. Used by {@link
 * GiveUpLog} (per set of failed backends) and {@link Refusals} (per rule and reason).
 *
 * <p>Thread-safe: the events it limits are rare next to connections, so one monitor guards it.
 */
final class LogLimiter {
  /** The shortest time between two lines of one kind: 10 s. */
  static final long WINDOW_NANOS = TimeUnit.SECONDS.toNanos(10);

  private boolean started;
  private long windowStart;
  private long suppressed;

  /**
   * Returns -1 when a line was let through less than {@link #WINDOW_NANOS} before {@code nowNanos}
   * (this one is counted as suppressed), else the number suppressed since that line: this one is to
   * be logged, and a new window begins.
   */
  synchronized long pass(long nowNanos) {
    if (started && nowNanos - windowStart < WINDOW_NANOS) {
      suppressed++;
      return -1;
    }
    started = true;
    windowStart = nowNanos;
    long n = suppressed;
    suppressed = 0;
    return n;
  }

  /** Returns the number suppressed since the last line let through, and lets the next one pass. */
  synchronized long reset() {
    long n = suppressed;
    suppressed = 0;
    started = false;
    return n;
  }
}
