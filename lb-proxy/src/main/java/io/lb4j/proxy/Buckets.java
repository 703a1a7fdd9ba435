package io.lb4j.proxy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Histogram bucket bounds in Prometheus' usual 1–2.5–5 steps per decade, for the duration
 * histograms of {@code /metrics} (connect time, probe duration).
 *
 * <p>Thread-safe: no state.
 */
final class Buckets {
  private Buckets() {}

  /**
   * Returns every bound {1, 2.5, 5} × 10<sup>k</sup> ns from {@code from} to {@code to}, both
   * included, in order.
   *
   * @throws IllegalArgumentException if a bound is not of that form or {@code from} is after {@code
   *     to}
   */
  static Duration[] oneTwoFive(Duration from, Duration to) {
    long lo = from.toNanos();
    long hi = to.toNanos();
    if (lo <= 0 || lo > hi) {
      throw new IllegalArgumentException(
          "from: " + from + ", to: " + to + " (expected: 0 < from <= to)");
    }
    List<Duration> out = new ArrayList<>();
    for (long decade = 1; decade <= hi; decade *= 10) {
      for (long step : new long[] {decade, decade * 5 / 2, decade * 5}) {
        if (step >= lo && step <= hi && (step != decade * 5 / 2 || decade >= 2)) {
          out.add(Duration.ofNanos(step));
        }
      }
    }
    if (out.isEmpty() || out.get(0).toNanos() != lo || out.get(out.size() - 1).toNanos() != hi) {
      throw new IllegalArgumentException(
          "from: "
              + from
              + ", to: "
              + to
              + " (expected: bounds of the form {1, 2.5, 5} x 10^k ns)");
    }
    return out.toArray(new Duration[0]);
  }
}
