package io.lb4j.proxy;

import java.time.InstantSource;
import java.util.concurrent.atomic.LongAdder;

/**
 * Counts the standalone proxy's configuration reloads by result and keeps the last one's outcome
 * and the time of the last successful load, as Prometheus keeps its own ({@code
 * prometheus_config_last_reload_successful}, {@code
 * prometheus_config_last_reload_success_timestamp_seconds}). The load at start counts as the first
 * success, so an instance that never reloaded reports success and its start time.
 *
 * <p>Thread-safe.
 */
final class Reloads {

  /** How a reload ended. */
  enum Result {
    /** The new configuration is in force. */
    OK,
    /**
     * Refused before anything changed: the file is unreadable or invalid, a rule's address is
     * taken, a membership source's provider refused its block, or the proxy is draining.
     */
    REFUSED,
    /**
     * Failed while being applied, after its checks passed (a port taken between the check and the
     * bind, an unexpected error); the running configuration stays.
     */
    FAILED
  }

  private final InstantSource clock;
  private final LongAdder[] counts = new LongAdder[Result.values().length];
  private volatile boolean lastSuccessful = true;
  private volatile long lastSuccessMillis;

  /** Starts with the load at start as the last success, at {@code clock}'s now. */
  Reloads(InstantSource clock) {
    this.clock = clock;
    for (int i = 0; i < counts.length; i++) {
      counts[i] = new LongAdder();
    }
    this.lastSuccessMillis = clock.millis();
  }

  /** Records a reload's result. */
  void record(Result result) {
    counts[result.ordinal()].increment();
    if (result == Result.OK) {
      lastSuccessMillis = clock.millis();
    }
    lastSuccessful = result == Result.OK;
  }

  /** Returns how many reloads ended with {@code result}. */
  long count(Result result) {
    return counts[result.ordinal()].sum();
  }

  /** Returns whether the last reload (or, before any, the load at start) succeeded. */
  boolean lastSuccessful() {
    return lastSuccessful;
  }

  /** Returns the time of the last successful load (start or reload), in seconds since the epoch. */
  double lastSuccessEpochSeconds() {
    return lastSuccessMillis / 1000.0;
  }
}
