package io.lb4j.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Exponential back-off with jitter: bounds, cap, reset, spread. */
class BackoffTest {

  @Test
  void next_growsBy1point6WithinJitter_cappedAtMax() {
    for (long seed = 0; seed < 50; seed++) {
      Backoff b = new Backoff(Duration.ofMillis(500), Duration.ofSeconds(30), new Random(seed));
      double base = 500;
      for (int i = 0; i < 20; i++) {
        long d = b.next().toMillis();
        double lo = Math.min(base * 0.8, 30_000 * 0.8) - 1;
        double hi = Math.min(base * 1.2, 30_000);
        assertTrue(d >= lo && d <= hi, "seed " + seed + ", attempt " + i + ": " + d + "ms");
        base = Math.min(base * 1.6, 30_000);
      }
    }
  }

  @Test
  void reset_startsOverAtInitial() {
    Backoff b = new Backoff(Duration.ofMillis(500), Duration.ofSeconds(30), new Random(1));
    for (int i = 0; i < 10; i++) {
      b.next();
    }
    assertTrue(b.next().toMillis() > 10_000);
    b.reset();
    long d = b.next().toMillis();
    assertTrue(d >= 400 && d <= 600, d + "ms");
  }

  @Test
  void next_jitterSpreadsInstances() {
    Backoff a = new Backoff(Duration.ofMillis(500), Duration.ofSeconds(30), new Random(1));
    Backoff b = new Backoff(Duration.ofMillis(500), Duration.ofSeconds(30), new Random(2));
    assertNotEquals(a.next(), b.next());
  }

  @Test
  void constructor_refusesBadBounds() {
    assertEquals(
        "backoffInitial: 0s (expected: a positive duration)",
        assertThrows(
                IllegalArgumentException.class,
                () -> new Backoff(Duration.ZERO, Duration.ofSeconds(1), new Random()))
            .getMessage());
    assertEquals(
        "backoffMax: 1s (expected: at least backoffInitial, 2s)",
        assertThrows(
                IllegalArgumentException.class,
                () -> new Backoff(Duration.ofSeconds(2), Duration.ofSeconds(1), new Random()))
            .getMessage());
  }
}
