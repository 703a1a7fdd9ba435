package io.lb4j;

import java.time.Duration;
import java.util.Locale;

/**
 * Durations as people write them in configuration files and read them in messages: {@code 250ms},
 * {@code 5s}, {@code 4m}, {@code 1h}, {@code 2d}, and ISO-8601 ({@code PT5S}) on input.
 *
 * <p>{@link #format} writes the largest unit that represents the duration exactly, so a value that
 * was written {@code 5s} is printed {@code 5s} again, not {@code PT5S}; a duration that no single
 * unit represents exactly is written as a sum ({@code 1m30s}, {@code 1s500ms}).
 *
 * <p>Thread-safe.
 */
public final class Durations {
  private static final String EXPECTED = "a duration such as 250ms, 5s, 4m, 1h, 1d or PT5S";

  private static final long[] UNIT_NANOS = {
    86_400_000_000_000L, 3_600_000_000_000L, 60_000_000_000L, 1_000_000_000L, 1_000_000L, 1_000L, 1L
  };
  private static final String[] UNIT_NAMES = {"d", "h", "m", "s", "ms", "us", "ns"};

  private Durations() {}

  /**
   * Returns {@code d} as a person writes it: {@code 5s}, {@code 250ms}, {@code 1m30s}, {@code 0s}.
   *
   * @param d the duration; a negative one gets a leading {@code -}
   * @return the duration in whole days, hours, minutes, seconds, milliseconds, microseconds and
   *     nanoseconds, largest first
   * @throws NullPointerException if {@code d} is null
   */
  public static String format(Duration d) {
    Checks.notNull(d, "duration");
    if (d.isZero()) {
      return "0s";
    }
    if (d.isNegative()) {
      return "-" + format(d.negated());
    }
    if (d.getSeconds() >= Long.MAX_VALUE / 1_000_000_000L) {
      return d.toString(); // beyond 292 years: no one writes that in a configuration
    }
    long left = d.toNanos();
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < UNIT_NANOS.length && left > 0; i++) {
      long n = left / UNIT_NANOS[i];
      if (n > 0) {
        sb.append(n).append(UNIT_NAMES[i]);
        left -= n * UNIT_NANOS[i];
      }
    }
    return sb.toString();
  }

  /**
   * Parses {@code 250ms}, {@code 5s}, {@code 4m}, {@code 1h}, {@code 1d} (a whole number and a
   * unit), or an ISO-8601 duration such as {@code PT5S}.
   *
   * @param text the value
   * @param field what the value is, for the error message
   * @return the duration
   * @throws IllegalArgumentException naming the field and the value if {@code text} is neither
   */
  public static Duration parse(String field, String text) {
    Checks.notNull(text, field);
    String s = text.trim();
    int split = 0;
    while (split < s.length() && Character.isDigit(s.charAt(split))) {
      split++;
    }
    if (split > 0 && split < s.length() && split <= 18) {
      long n = Long.parseLong(s.substring(0, split));
      switch (s.substring(split).toLowerCase(Locale.ROOT)) {
        case "ms":
          return Duration.ofMillis(n);
        case "s":
          return Duration.ofSeconds(n);
        case "m":
          return Duration.ofMinutes(n);
        case "h":
          return Duration.ofHours(n);
        case "d":
          return Duration.ofDays(n);
        default:
          break;
      }
    } else if (s.length() > 1 && (s.charAt(0) == 'P' || s.charAt(0) == 'p')) {
      try {
        return Duration.parse(s);
      } catch (RuntimeException e) {
        // fall through to the error below
      }
    }
    throw new IllegalArgumentException(field + ": '" + text + "' (expected: " + EXPECTED + ")");
  }
}
