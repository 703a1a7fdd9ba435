package io.lb4j;

import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * Strict IP address literals, parsed without ever consulting a name service: every address lb4j
 * reads from a configuration or a caller goes through here, so a host name is refused, never
 * resolved (a lookup would block, fail slowly, and let whoever wrote the name choose a DNS query).
 *
 * <ul>
 *   <li>IPv4: a dotted quad of four decimal parts 0-255, {@code 192.0.2.1}; no leading zeros (an
 *       {@code inet_aton} reader takes {@code 010} as octal 8), no shorter forms ({@code 127.1}).
 *   <li>IPv6 (RFC 4291, section 2.2): eight groups of 1-4 hex digits, one {@code ::} for a run of
 *       zero groups, the last 32 bits optionally as a dotted quad ({@code ::ffff:192.0.2.1}),
 *       optionally in brackets ({@code [2001:db8::1]}); no zone ({@code %eth0}).
 * </ul>
 *
 * <p>The address is built with {@link InetAddress#getByAddress(byte[])}; an IPv4-mapped IPv6
 * literal yields an {@link java.net.Inet4Address}, as it does in the JDK.
 *
 * <pre>{@code
 * InetAddress a = IpLiteral.parse("2001:db8::1");
 * IpLiteral.parse("localhost"); // IllegalArgumentException: not a literal, and never looked up
 * }</pre>
 *
 * <p>Thread-safe: stateless.
 */
public final class IpLiteral {
  /** The longest literal: {@code [ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]}, 47 chars. */
  private static final int MAX_LENGTH = 47;

  static final String EXPECTED =
      "an IPv4 or IPv6 address literal, such as 192.0.2.1 or 2001:db8::1; names are never"
          + " resolved";

  private IpLiteral() {}

  /**
   * Returns the address {@code literal} spells.
   *
   * @param literal a dotted quad such as {@code 127.0.0.2} or an IPv6 literal such as {@code ::1},
   *     without brackets; no host name, nothing is resolved
   * @return the address
   * @throws IllegalArgumentException naming the value if it is not a strict IPv4 or IPv6 literal
   */
  public static InetAddress parse(String literal) {
    return parse("address", literal);
  }

  /** Returns the address {@code value} spells; an error names {@code field}. */
  static InetAddress parse(String field, String value) {
    Checks.notNull(value, field);
    byte[] bytes = bytes(value);
    if (bytes == null) {
      throw new IllegalArgumentException(field + ": '" + value + "' (expected: " + EXPECTED + ")");
    }
    try {
      return InetAddress.getByAddress(bytes);
    } catch (UnknownHostException e) {
      throw new AssertionError("4 or 16 bytes: " + bytes.length, e); // cannot happen
    }
  }

  /** Returns the 4 or 16 bytes {@code text} spells, or null if it is not a strict literal. */
  static byte[] bytes(String text) {
    if (text.isEmpty() || text.length() > MAX_LENGTH) {
      return null;
    }
    String s = text;
    boolean bracketed = s.charAt(0) == '[';
    if (bracketed) {
      if (s.length() < 2 || s.charAt(s.length() - 1) != ']') {
        return null;
      }
      s = s.substring(1, s.length() - 1);
    }
    if (s.indexOf(':') >= 0) {
      return ipv6(s);
    }
    if (bracketed) {
      return null; // brackets are for IPv6 only (RFC 3986, section 3.2.2)
    }
    byte[] out = new byte[4];
    return ipv4(s, 0, s.length(), out, 0) ? out : null;
  }

  /** Parses {@code s[from, to)} as a dotted quad into {@code out[at..at+3]}. */
  private static boolean ipv4(String s, int from, int to, byte[] out, int at) {
    int part = 0;
    int value = 0;
    int digits = 0;
    for (int i = from; i <= to; i++) {
      char c = i < to ? s.charAt(i) : '.';
      if (c == '.') {
        if (digits == 0 || part == 4) {
          return false;
        }
        out[at + part++] = (byte) value;
        value = 0;
        digits = 0;
      } else if (c >= '0' && c <= '9') {
        if (digits > 0 && value == 0) {
          return false; // a leading zero
        }
        value = value * 10 + (c - '0');
        digits++;
        if (value > 255) {
          return false;
        }
      } else {
        return false;
      }
    }
    return part == 4;
  }

  /** Returns the value of an ASCII hex digit, or -1 (Character.digit takes other scripts too). */
  private static int hex(char c) {
    if (c >= '0' && c <= '9') {
      return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
      return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
      return c - 'A' + 10;
    }
    return -1;
  }

  /** Parses an IPv6 literal without brackets (RFC 4291, section 2.2). */
  private static byte[] ipv6(String s) {
    byte[] out = new byte[16];
    int n = s.length();
    int group = 0; // 16-bit groups written so far
    int gap = -1; // the group index where "::" stands
    int i = 0;
    if (s.startsWith("::")) {
      gap = 0;
      i = 2;
      if (i == n) {
        return out; // "::"
      }
    } else if (s.charAt(0) == ':') {
      return null;
    }
    while (i < n) {
      if (group == 8) {
        return null;
      }
      int end = i;
      int value = 0;
      while (end < n && end - i < 5 && hex(s.charAt(end)) >= 0) {
        value = value * 16 + hex(s.charAt(end));
        end++;
      }
      if (end < n && s.charAt(end) == '.') {
        // the embedded dotted quad: the last 32 bits
        if (group > 6 || !ipv4(s, i, n, out, 2 * group)) {
          return null;
        }
        group += 2;
        break;
      }
      if (end == i || end - i > 4) {
        return null;
      }
      out[2 * group] = (byte) (value >>> 8);
      out[2 * group + 1] = (byte) value;
      group++;
      if (end == n) {
        break;
      }
      if (s.charAt(end) != ':') {
        return null;
      }
      if (end + 1 < n && s.charAt(end + 1) == ':') {
        if (gap >= 0) {
          return null; // a second "::"
        }
        gap = group;
        i = end + 2;
      } else {
        i = end + 1;
        if (i == n) {
          return null; // a trailing single ':'
        }
      }
    }
    if (gap < 0) {
      return group == 8 ? out : null;
    }
    if (group == 8) {
      return null; // "::" must stand for at least one group
    }
    // move the groups after the gap to the end
    int after = group - gap;
    System.arraycopy(out, 2 * gap, out, 16 - 2 * after, 2 * after);
    java.util.Arrays.fill(out, 2 * gap, 16 - 2 * after, (byte) 0);
    return out;
  }

  /**
   * Returns {@code address} as people write it: IPv4 as a dotted quad, IPv6 in the RFC 5952 form
   * (lower case, leading zeros dropped, the longest run of two or more zero groups as {@code ::},
   * the first such run on a tie) — {@code ::1}, not {@code 0:0:0:0:0:0:0:1}. A scope is not
   * printed.
   *
   * @param address an IPv4 or IPv6 address
   * @return the address as text, such as {@code 127.0.0.2} or {@code ::1}
   * @throws NullPointerException if {@code address} is null
   */
  public static String format(java.net.InetAddress address) {
    Checks.notNull(address, "address");
    byte[] b = address.getAddress();
    if (b.length == 4) {
      return (b[0] & 0xFF) + "." + (b[1] & 0xFF) + "." + (b[2] & 0xFF) + "." + (b[3] & 0xFF);
    }
    int[] groups = new int[8];
    for (int i = 0; i < 8; i++) {
      groups[i] = ((b[2 * i] & 0xFF) << 8) | (b[2 * i + 1] & 0xFF);
    }
    int bestStart = -1;
    int bestLength = 1; // a single zero group is not shortened (RFC 5952, 4.2.2)
    for (int i = 0; i < 8; ) {
      if (groups[i] != 0) {
        i++;
        continue;
      }
      int start = i;
      while (i < 8 && groups[i] == 0) {
        i++;
      }
      if (i - start > bestLength) {
        bestStart = start;
        bestLength = i - start;
      }
    }
    StringBuilder sb = new StringBuilder(39);
    for (int i = 0; i < 8; i++) {
      if (i == bestStart) {
        sb.append("::");
        i += bestLength - 1;
        continue;
      }
      if (sb.length() > 0 && sb.charAt(sb.length() - 1) != ':') {
        sb.append(':');
      }
      sb.append(Integer.toHexString(groups[i]));
    }
    return sb.toString();
  }

  /**
   * Returns {@code address:port} as people write it: {@code 127.0.0.2:8080}, {@code [::1]:8080}.
   *
   * @param address an IPv4 or IPv6 address
   * @param port the port
   * @return the text, IPv6 in brackets
   * @throws NullPointerException if {@code address} is null
   */
  public static String format(java.net.InetAddress address, int port) {
    String host = format(address);
    return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
  }

  /**
   * Returns {@code address} as {@link #format(java.net.InetAddress, int)} does.
   *
   * @param address an address and port; its host name, if it has one, is not printed
   * @return the text, IPv6 in brackets
   */
  public static String format(java.net.InetSocketAddress address) {
    Checks.notNull(address, "address");
    return address.getAddress() == null
        ? address.getHostString() + ":" + address.getPort()
        : format(address.getAddress(), address.getPort());
  }
}
