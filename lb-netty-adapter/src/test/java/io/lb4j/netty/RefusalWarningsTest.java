package io.lb4j.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import io.lb4j.testing.FakeClock;
import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The WARN of a refused connection ({@link Refusals#record}): at most one per rule and reason per
 * 10 s of the proxy's ticker, then one with the count of those left out; on a fake clock.
 */
class RefusalWarningsTest {
  private final FakeClock clock = new FakeClock();
  private final Refusals refusals =
      new Refusals("web", clock, clock, "public", FrontendOptions.DEFAULT);

  @Test
  void noBackend_oncePer10sWithTheSuppressedCount() throws Exception {
    InetAddress client = InetAddress.getByName("127.0.0.9");
    String answer = "NO_AVAILABLE_BACKEND web: pool 'web' has 2 backends, none available";
    try (LogCapture warnings = LogCapture.of(Refusals.class.getName(), Level.WARN)) {
      for (int i = 0; i < 42; i++) {
        refusals.record(RefusalReason.NO_BACKEND, client, answer);
        clock.forwardTime(Duration.ofMillis(100)); // 4.2 s in all
      }
      assertEquals(
          List.of(
              "rule web has no backend left: refusing its connections ("
                  + answer
                  + "), the last from 127.0.0.9"),
          warnings.lines());
      clock.forwardTime(Duration.ofMillis(5_799)); // 9.999 s after the first line
      refusals.record(RefusalReason.NO_BACKEND, client, answer);
      assertEquals(1, warnings.lines().size(), "still within 10 s: " + warnings.lines());
      clock.forwardTime(Duration.ofMillis(1));
      refusals.record(RefusalReason.NO_BACKEND, client, answer);
      assertEquals(2, warnings.lines().size(), warnings.lines().toString());
      assertTrue(
          warnings.lines().get(1).endsWith(" (42 more suppressed)"), warnings.lines().get(1));
    }
  }

  @Test
  void reasons_limitedEachOnItsOwn() throws Exception {
    InetAddress client = InetAddress.getByName("127.0.0.70");
    try (LogCapture warnings = LogCapture.of(Refusals.class.getName(), Level.WARN)) {
      refusals.record(RefusalReason.DENY_LIST, client, "127.0.0.64/26");
      refusals.record(RefusalReason.DENY_LIST, client, "127.0.0.64/26");
      refusals.record(RefusalReason.CONNECTION_LIMIT, client, "100");
      assertEquals(
          List.of(
              "rule web: refused a connection from 127.0.0.70 on frontend public: DENY_LIST"
                  + " 127.0.0.64/26",
              "rule web: refused a connection from 127.0.0.70 on frontend public:"
                  + " CONNECTION_LIMIT 100"),
          warnings.lines());
      assertEquals(3L, refusals.snapshot().total().values().stream().mapToLong(v -> v).sum());
    }
  }
}
