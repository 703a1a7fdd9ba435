package io.lb4j.proxy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class BucketsTest {
  @Test
  void oneTwoFive_halfMillisecondToFiveSeconds_theConnectTimeBounds() {
    assertArrayEquals(
        new Duration[] {
          Duration.ofNanos(500_000),
          Duration.ofMillis(1),
          Duration.ofNanos(2_500_000),
          Duration.ofMillis(5),
          Duration.ofMillis(10),
          Duration.ofMillis(25),
          Duration.ofMillis(50),
          Duration.ofMillis(100),
          Duration.ofMillis(250),
          Duration.ofMillis(500),
          Duration.ofSeconds(1),
          Duration.ofMillis(2500),
          Duration.ofSeconds(5)
        },
        Buckets.oneTwoFive(Duration.ofNanos(500_000), Duration.ofSeconds(5)));
  }

  @Test
  void oneTwoFive_millisecondToTenSeconds_thirteenBounds() {
    Duration[] b = Buckets.oneTwoFive(Duration.ofMillis(1), Duration.ofSeconds(10));
    assertEquals(13, b.length);
    assertEquals(Duration.ofMillis(1), b[0]);
    assertEquals(Duration.ofSeconds(10), b[12]);
  }

  @Test
  void oneTwoFive_boundsNotOnTheSteps_refused() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> Buckets.oneTwoFive(Duration.ofMillis(3), Duration.ofSeconds(1)));
    assertEquals(
        "from: PT0.003S, to: PT1S (expected: bounds of the form {1, 2.5, 5} x 10^k ns)",
        e.getMessage());
    assertThrows(
        IllegalArgumentException.class,
        () -> Buckets.oneTwoFive(Duration.ofSeconds(2), Duration.ofSeconds(1)));
  }
}
