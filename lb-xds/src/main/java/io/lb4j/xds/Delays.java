package io.lb4j.xds;

import java.time.Duration;
import java.util.concurrent.Future;

/**
 * Runs a task after a delay: a source's reconnects and its repeated NACKs wait here. The source's
 * own scheduled executor in production, a fake that the test advances in tests.
 *
 * <p>Implementations must be thread-safe.
 */
interface Delays {
  /** Runs {@code task} once after {@code delay}; the returned future cancels it. */
  Future<?> schedule(Runnable task, Duration delay);
}
