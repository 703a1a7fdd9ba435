package io.lb4j.xds;

import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Delays that wait for the test: each scheduled task is queued with its delay, and runs only when
 * the test runs it, so back-off is checked without waiting for it.
 *
 * <p>Thread-safe.
 */
final class FakeDelays implements Delays {
  /** A task the source asked to run after {@code delay}. */
  record Pending(Duration delay, Runnable task, CompletableFuture<Void> handle) {
    /** Runs the task now, unless the source cancelled it. */
    void run() {
      if (!handle.isCancelled()) {
        task.run();
      }
    }
  }

  final BlockingQueue<Pending> scheduled = new LinkedBlockingQueue<>();

  @Override
  public Future<?> schedule(Runnable task, Duration delay) {
    CompletableFuture<Void> handle = new CompletableFuture<>();
    scheduled.add(new Pending(delay, task, handle));
    return handle;
  }

  /** Returns the next task scheduled, waiting at most {@code timeout}. */
  Pending next(Duration timeout) throws InterruptedException {
    Pending p = scheduled.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
    if (p == null) {
      throw new AssertionError("nothing scheduled within " + timeout);
    }
    return p;
  }
}
