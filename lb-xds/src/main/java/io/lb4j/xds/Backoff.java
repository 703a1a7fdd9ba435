package io.lb4j.xds;

import io.lb4j.Durations;
import java.time.Duration;
import java.util.Random;

/**
 * Exponential back-off with jitter, as gRPC-java's {@code ExponentialBackoffPolicy}: the first
 * delay is {@code initial}, each next one 1.6 times the previous, capped at {@code max}; every
 * delay is spread by ±20% so that many lb4j instances that lost the same management server do not
 * reconnect in step. {@link #reset()} after a stream that received a response starts over at {@code
 * initial}.
 *
 * <p>Not thread-safe: used on the source's executor only.
 */
final class Backoff {
  static final double MULTIPLIER = 1.6;
  static final double JITTER = 0.2;

  private final long initialNanos;
  private final long maxNanos;
  private final Random random;
  private long nextNanos;

  Backoff(Duration initial, Duration max, Random random) {
    if (initial.isNegative() || initial.isZero()) {
      throw new IllegalArgumentException(
          "backoffInitial: " + Durations.format(initial) + " (expected: a positive duration)");
    }
    if (max.compareTo(initial) < 0) {
      throw new IllegalArgumentException(
          "backoffMax: "
              + Durations.format(max)
              + " (expected: at least backoffInitial, "
              + Durations.format(initial)
              + ")");
    }
    this.initialNanos = initial.toNanos();
    this.maxNanos = max.toNanos();
    this.random = random;
    this.nextNanos = initialNanos;
  }

  /** Returns the delay before the next attempt, and grows the one after it. */
  Duration next() {
    long base = nextNanos;
    nextNanos = (long) Math.min(base * MULTIPLIER, (double) maxNanos);
    double spread = 1 + JITTER * (2 * random.nextDouble() - 1);
    return Duration.ofNanos(Math.min(maxNanos, Math.max(1, (long) (base * spread))));
  }

  /** Starts over at the initial delay. */
  void reset() {
    nextNanos = initialNanos;
  }
}
