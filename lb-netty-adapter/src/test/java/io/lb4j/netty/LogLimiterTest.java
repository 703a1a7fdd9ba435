package io.lb4j.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** {@link LogLimiter}: one line per window, the count of those left out on the next. */
class LogLimiterTest {
  @Test
  void pass_withinWindowSuppressed_nextWindowCarriesTheCount() {
    LogLimiter l = new LogLimiter();
    long w = LogLimiter.WINDOW_NANOS;
    assertEquals(0, l.pass(-5)); // any start, negative ticker values included
    assertEquals(-1, l.pass(-4));
    assertEquals(-1, l.pass(w - 6));
    assertEquals(2, l.pass(w - 5));
    assertEquals(0, l.pass(3 * w));
  }

  @Test
  void reset_returnsTheCountAndLetsTheNextPass() {
    LogLimiter l = new LogLimiter();
    l.pass(0);
    l.pass(1);
    assertEquals(1, l.reset());
    assertEquals(0, l.pass(2));
  }
}
