package io.lb4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class DurationsTest {

  @Test
  void format_wholeUnits_printedAsWritten() {
    assertEquals("5s", Durations.format(Duration.ofSeconds(5)));
    assertEquals("250ms", Durations.format(Duration.ofMillis(250)));
    assertEquals("4m", Durations.format(Duration.ofMinutes(4)));
    assertEquals("7d", Durations.format(Duration.ofDays(7)));
    assertEquals("0s", Durations.format(Duration.ZERO));
    assertEquals("-1s", Durations.format(Duration.ofSeconds(-1)));
  }

  @Test
  void format_mixedUnits_writtenAsSum() {
    assertEquals("1m30s", Durations.format(Duration.ofSeconds(90)));
    assertEquals("1s500ms", Durations.format(Duration.ofMillis(1500)));
    assertEquals("1ms1ns", Durations.format(Duration.ofNanos(1_000_001)));
  }

  @Test
  void parse_formatted_roundTrips() {
    for (String s : new String[] {"250ms", "5s", "4m", "1h", "2d"}) {
      assertEquals(s, Durations.format(Durations.parse("f", s)));
    }
    assertEquals(Duration.ofSeconds(5), Durations.parse("f", "PT5S"));
  }

  @Test
  void parse_garbage_namesFieldAndValue() {
    for (String bad :
        new String[] {"5", "s", "5 parsecs", "-5s", "", "P", "99999999999999999999s"}) {
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> Durations.parse("timeout", bad));
      assertEquals(
          "timeout: '" + bad + "' (expected: a duration such as 250ms, 5s, 4m, 1h, 1d or PT5S)",
          e.getMessage());
    }
  }
}
