package io.lb4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@link IpLiteral}: what it accepts, what it refuses, and a seeded round trip. */
class IpLiteralTest {
  private static final long SEED = 4291; // RFC 4291
  private static final int ROUNDS = 20_000;

  private static byte[] bytes(int... b) {
    byte[] out = new byte[b.length];
    for (int i = 0; i < b.length; i++) {
      out[i] = (byte) b[i];
    }
    return out;
  }

  @Test
  void parse_ipv4_dottedQuad() {
    assertArrayEquals(bytes(192, 0, 2, 1), IpLiteral.parse("192.0.2.1").getAddress());
    assertArrayEquals(bytes(0, 0, 0, 0), IpLiteral.parse("0.0.0.0").getAddress());
    assertArrayEquals(bytes(255, 255, 255, 255), IpLiteral.parse("255.255.255.255").getAddress());
  }

  @Test
  void parse_ipv6_everyForm() {
    byte[] one = new byte[16];
    one[15] = 1;
    assertArrayEquals(one, IpLiteral.parse("::1").getAddress());
    assertArrayEquals(one, IpLiteral.parse("[::1]").getAddress());
    assertArrayEquals(one, IpLiteral.parse("0:0:0:0:0:0:0:1").getAddress());
    assertArrayEquals(one, IpLiteral.parse("0000:0000:0000:0000:0000:0000:0000:0001").getAddress());
    assertArrayEquals(new byte[16], IpLiteral.parse("::").getAddress());
    byte[] doc = new byte[16];
    doc[0] = 0x20;
    doc[1] = 0x01;
    doc[2] = 0x0D;
    doc[3] = (byte) 0xB8;
    doc[15] = 1;
    assertArrayEquals(doc, IpLiteral.parse("2001:db8::1").getAddress());
    assertArrayEquals(doc, IpLiteral.parse("2001:DB8:0::0:1").getAddress());
    byte[] trailing = new byte[16];
    trailing[1] = 1;
    assertArrayEquals(trailing, IpLiteral.parse("1::").getAddress());
    assertArrayEquals(
        bytes(0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 0),
        IpLiteral.parse("1:2:3:4:5:6:7::").getAddress());
    assertArrayEquals(
        bytes(0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 192, 0, 2, 1),
        IpLiteral.parse("1:2:3:4:5:6:192.0.2.1").getAddress());
    // the IPv4-mapped form yields an Inet4Address, as the JDK's own literals do
    InetAddress mapped = IpLiteral.parse("::ffff:192.0.2.1");
    assertEquals(Inet4Address.class, mapped.getClass());
    assertArrayEquals(bytes(192, 0, 2, 1), mapped.getAddress());
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "",
        "localhost",
        "lb4j-should-not-resolve",
        "web.example",
        "zz:zz",
        "g::1",
        "127.1",
        "127.0.0",
        "127.0.0.1.",
        ".127.0.0.1",
        "1.2.3.4.5",
        "010.0.0.1",
        "00.0.0.0",
        "0x7f.0.0.1",
        "256.0.0.1",
        "127.0.0.256",
        "1.2.3.4:80",
        " 127.0.0.1",
        "127.0.0.1 ",
        "\u0661\u0662\u0667.0.0.1",
        "[127.0.0.1]",
        "[::1",
        "::1]",
        "[]",
        "::1%lo",
        "fe80::1%eth0",
        ":",
        ":::",
        ":1",
        "1:",
        "1::2::3",
        "1:::2",
        "12345::",
        "1:2:3:4:5:6:7:8:9",
        "1:2:3:4:5:6:7",
        "1:2:3:4:5:6:7:8::",
        "::1:2:3:4:5:6:7:8",
        "1:2:3:4:5:6:7:192.0.2.1",
        "::ffff:192.0.2",
        "::ffff:192.0.2.1:1",
        "::ffff:1.2.3.04",
        "::\uff11",
        "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255:ffff:ffff"
      })
  void parse_notAStrictLiteral_refusedNamingTheValue(String text) {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> IpLiteral.parse(text));
    assertEquals(
        "address: '"
            + text
            + "' (expected: an IPv4 or IPv6 address literal, such as 192.0.2.1 or 2001:db8::1;"
            + " names are never resolved)",
        e.getMessage());
    assertNull(IpLiteral.bytes(text));
  }

  @Test
  void parse_null_refusedNamingTheField() {
    assertThrows(NullPointerException.class, () -> IpLiteral.parse(null));
  }

  /**
   * Random addresses written in every form a writer may choose (full, zero-compressed at any zero
   * run, upper or lower case, leading zeros, the last 32 bits as a dotted quad, brackets) parse to
   * their own bytes. Bounds: {@link #ROUNDS} addresses, each with many zero groups so that "::"
   * lands everywhere.
   */
  @Test
  void parse_seededRandomAddressesInEveryForm_roundTrip() {
    SplittableRandom random = new SplittableRandom(SEED);
    for (int round = 0; round < ROUNDS; round++) {
      int[] groups = new int[8];
      for (int g = 0; g < 8; g++) {
        groups[g] = random.nextInt(3) == 0 ? random.nextInt(65536) : 0;
      }
      byte[] expected = new byte[16];
      for (int g = 0; g < 8; g++) {
        expected[2 * g] = (byte) (groups[g] >>> 8);
        expected[2 * g + 1] = (byte) groups[g];
      }
      String text = write(groups, random);
      String tag = "seed " + SEED + ", round " + round + ": '" + text + "'";
      byte[] got = IpLiteral.bytes(text);
      assertArrayEquals(expected, got, tag);

      int v4 = random.nextInt();
      String quad =
          (v4 >>> 24) + "." + (v4 >>> 16 & 255) + "." + (v4 >>> 8 & 255) + "." + (v4 & 255);
      byte[] four = {(byte) (v4 >>> 24), (byte) (v4 >>> 16), (byte) (v4 >>> 8), (byte) v4};
      assertArrayEquals(four, IpLiteral.bytes(quad), "seed " + SEED + ", round " + round);
    }
  }

  private static String write(int[] groups, SplittableRandom random) {
    boolean quad = random.nextInt(4) == 0;
    int n = quad ? 6 : 8;
    // the zero run to compress, if any: a random one, not only the longest (readers take any)
    int from = -1;
    int to = -1;
    if (random.nextBoolean()) {
      for (int tries = 0; tries < 4 && from < 0; tries++) {
        int start = random.nextInt(n);
        int end = start;
        while (end < n && groups[end] == 0) {
          end++;
        }
        if (end > start) {
          from = start;
          to = end;
        }
      }
    }
    boolean upper = random.nextBoolean();
    StringBuilder b = new StringBuilder();
    for (int g = 0; g < n; g++) {
      if (g == from) {
        b.append("::");
        g = to - 1;
        continue;
      }
      if (b.length() > 0 && b.charAt(b.length() - 1) != ':') {
        b.append(':');
      }
      String h = Integer.toHexString(groups[g]);
      if (random.nextInt(8) == 0) {
        h = "0000".substring(h.length()) + h;
      }
      b.append(upper ? h.toUpperCase(java.util.Locale.ROOT) : h);
    }
    if (quad) {
      if (b.length() > 0 && b.charAt(b.length() - 1) != ':') {
        b.append(':');
      }
      b.append(groups[6] >>> 8).append('.').append(groups[6] & 255).append('.');
      b.append(groups[7] >>> 8).append('.').append(groups[7] & 255);
    }
    String text = b.toString();
    return random.nextInt(4) == 0 ? "[" + text + "]" : text;
  }

  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.CsvSource({
    "0:0:0:0:0:0:0:1, ::1",
    "0:0:0:0:0:0:0:0, ::",
    "2001:db8:0:0:0:0:0:53, 2001:db8::53",
    "2001:DB8:0:0:1:0:0:1, 2001:db8::1:0:0:1", // the first of two equal runs
    "2001:db8:0:1:1:1:1:1, 2001:db8:0:1:1:1:1:1", // one zero group stays
    "2001:0:0:1:0:0:0:1, 2001:0:0:1::1", // the longest run
    "fe80:0:0:0:0:0:0:0, fe80::",
    "127.0.0.2, 127.0.0.2"
  })
  void format_rfc5952(String literal, String expected) throws Exception {
    assertEquals(expected, IpLiteral.format(IpLiteral.parse(literal)));
    assertEquals(
        IpLiteral.parse(literal), IpLiteral.parse(IpLiteral.format(IpLiteral.parse(literal))));
  }

  @org.junit.jupiter.api.Test
  void format_withPort_bracketsIpv6Only() throws Exception {
    assertEquals("[::1]:16379", IpLiteral.format(IpLiteral.parse("::1"), 16379));
    assertEquals("127.0.0.1:80", IpLiteral.format(new java.net.InetSocketAddress("127.0.0.1", 80)));
  }
}
