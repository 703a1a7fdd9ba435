package io.lb4j.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.ConnectException;
import org.junit.jupiter.api.Test;

/** {@link GiveUpLog}: one warning per set of failed backends, then a count. */
class GiveUpLogTest {
  private static final ConnectException REFUSED = new ConnectException("Connection refused");

  @Test
  void gaveUp_sameBackendsAgain_countedNotLogged() {
    GiveUpLog log = new GiveUpLog();
    long t = 0;
    assertTrue(log.gaveUp("app", "flow-1", 2, new String[] {"b", "a", null}, "x", REFUSED, t));
    for (int i = 0; i < 1000; i++) {
      assertFalse(
          log.gaveUp("app", "flow", 2, new String[] {"a", "b", null}, "x", REFUSED, t + i),
          "give-up " + i + ": the same set {a, b} in any order");
    }
    assertEquals(1001, log.total());
  }

  @Test
  void gaveUp_otherBackendsOrEpisodeOld_loggedAgain() {
    GiveUpLog log = new GiveUpLog();
    assertTrue(log.gaveUp("app", "f", 1, new String[] {"a"}, "x", REFUSED, 0));
    assertTrue(log.gaveUp("app", "f", 1, new String[] {"b"}, "x", REFUSED, 1), "another set");
    assertFalse(log.gaveUp("app", "f", 1, new String[] {"b"}, "x", REFUSED, 2));
    assertTrue(
        log.gaveUp("app", "f", 1, new String[] {"b"}, "x", REFUSED, 1 + GiveUpLog.SUMMARY_NANOS),
        "an episode's count is logged at most 10 s after it began");
  }
}
