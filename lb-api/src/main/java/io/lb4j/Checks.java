package io.lb4j;

import java.net.InetAddress;
import java.time.Duration;
import java.util.Objects;
import java.util.regex.Pattern;

/** Argument checks that produce lb4j's error messages: {@code "field: value (expected: ...)"}. */
final class Checks {
  /** Names and ids: a letter or digit, then letters, digits, '.', '_', ':' or '-'; 64 at most. */
  static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._:-]{0,63}");

  static final String NAME_EXPECTED =
      "1-64 characters of [A-Za-z0-9._:-], starting with a letter or digit";

  private Checks() {}

  static <T> T notNull(T value, String field) {
    return Objects.requireNonNull(value, field);
  }

  static String name(String field, String value) {
    notNull(value, field);
    if (!NAME.matcher(value).matches()) {
      throw new IllegalArgumentException(
          field + ": '" + value + "' (expected: " + NAME_EXPECTED + ")");
    }
    return value;
  }

  static int range(String field, int value, int min, int max) {
    if (value < min || value > max) {
      throw new IllegalArgumentException(
          field + ": " + value + " (expected: " + min + "-" + max + ")");
    }
    return value;
  }

  static int port(String field, int value) {
    return range(field, value, 1, 65535);
  }

  static Duration positive(String field, Duration value) {
    notNull(value, field);
    if (value.isNegative() || value.isZero()) {
      throw new IllegalArgumentException(
          field + ": " + Durations.format(value) + " (expected: > 0)");
    }
    return value;
  }

  /**
   * Parses an IPv4 or IPv6 literal without ever consulting a name service ({@link IpLiteral}): a
   * host name is refused, since a balancer that resolves names at construction would hide a slow or
   * failing lookup.
   */
  static InetAddress ipLiteral(String field, String value) {
    return IpLiteral.parse(field, value);
  }
}
