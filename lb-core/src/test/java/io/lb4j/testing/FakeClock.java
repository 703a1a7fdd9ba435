package io.lb4j.testing;

import com.github.benmanes.caffeine.cache.Ticker;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A clock for tests that moves only when told to: a Caffeine {@link Ticker} read by the flow table
 * (gRPC's {@code FakeClock} idea).
 *
 * <p>Thread-safe.
 */
public final class FakeClock implements Ticker {
  private final AtomicLong nanos = new AtomicLong(1_000_000_000L);

  @Override
  public long read() {
    return nanos.get();
  }

  /** Moves the clock forward by {@code duration}. */
  public void forwardTime(Duration duration) {
    if (duration.isNegative()) {
      throw new IllegalArgumentException("duration: " + duration + " (expected: >= 0)");
    }
    nanos.addAndGet(duration.toNanos());
  }

  /** Moves the clock forward by {@code n} nanoseconds. */
  public void forwardNanos(long n) {
    forwardTime(Duration.ofNanos(n));
  }
}
