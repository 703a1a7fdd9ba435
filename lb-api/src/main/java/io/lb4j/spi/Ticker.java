package io.lb4j.spi;

/**
 * A monotonic time source in nanoseconds, as {@link System#nanoTime()}: flow expiry, probe
 * schedules and ejections read it. Tests give a fake one that moves only when told to.
 *
 * <p>Implementations must be thread-safe.
 */
@FunctionalInterface
public interface Ticker {

  /**
   * Returns the current reading in nanoseconds; only differences between readings mean anything.
   *
   * @return the reading in nanoseconds
   */
  long read();

  /** {@return the ticker of {@link System#nanoTime()}} */
  static Ticker system() {
    return System::nanoTime;
  }
}
