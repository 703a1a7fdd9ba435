package io.lb4j.dns;

import io.lb4j.Durations;
import java.time.Duration;

/**
 * When a {@link DnsMembershipSource} resolves again: after an answer, at its TTL clamped to {@code
 * [floor, cap]}; after the n-th failure in a row, after {@code retryBase * 2^(n-1)}, at most {@code
 * retryMax} and never sooner than the floor. The floor is the shortest time between two resolutions
 * whatever the server says (a TTL of 0 would otherwise ask in a loop); the cap bounds how long a
 * change can go unseen behind a long TTL.
 *
 * <p>Immutable and thread-safe.
 *
 * @param floor the shortest time between two resolutions, > 0
 * @param cap the longest time an answer is kept, >= floor
 * @param retryBase the delay after a first failure, > 0
 * @param retryMax the longest delay after failures, >= retryBase
 */
record RefreshSchedule(Duration floor, Duration cap, Duration retryBase, Duration retryMax) {

  static final Duration DEFAULT_FLOOR = Duration.ofSeconds(1);
  static final Duration DEFAULT_CAP = Duration.ofMinutes(5);
  static final Duration DEFAULT_RETRY_BASE = Duration.ofSeconds(1);
  static final Duration DEFAULT_RETRY_MAX = Duration.ofSeconds(30);

  /** Validates the bounds. */
  RefreshSchedule {
    positive("ttlFloor", floor);
    positive("ttlCap", cap);
    positive("retryBase", retryBase);
    positive("retryMax", retryMax);
    if (cap.compareTo(floor) < 0) {
      throw new IllegalArgumentException(
          "ttlCap: "
              + Durations.format(cap)
              + " (expected: >= ttlFloor, "
              + Durations.format(floor)
              + ")");
    }
    if (retryMax.compareTo(retryBase) < 0) {
      throw new IllegalArgumentException(
          "retryMax: "
              + Durations.format(retryMax)
              + " (expected: >= retryBase, "
              + Durations.format(retryBase)
              + ")");
    }
  }

  /** Returns the delay until the next resolution after an answer whose TTL is {@code ttl} s. */
  Duration afterAnswer(long ttlSeconds) {
    Duration ttl = Duration.ofSeconds(Math.max(0, Math.min(ttlSeconds, cap.getSeconds() + 1)));
    return clamp(ttl, floor, cap);
  }

  /** Returns the delay until the next resolution after {@code failures} failures in a row, >= 1. */
  Duration afterFailure(int failures) {
    Duration d = retryBase;
    for (int i = 1; i < failures && d.compareTo(retryMax) < 0; i++) {
      d = d.multipliedBy(2);
    }
    return clamp(d, floor, retryMax.compareTo(floor) < 0 ? floor : retryMax);
  }

  private static Duration clamp(Duration d, Duration min, Duration max) {
    return d.compareTo(min) < 0 ? min : d.compareTo(max) > 0 ? max : d;
  }

  private static void positive(String field, Duration d) {
    if (d == null) {
      throw new NullPointerException(field);
    }
    if (d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException(field + ": " + Durations.format(d) + " (expected: > 0)");
    }
  }
}
