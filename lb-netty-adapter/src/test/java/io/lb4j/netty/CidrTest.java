package io.lb4j.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lb4j.IpLiteral;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@link Cidr}: strict literals only, never a name. */
class CidrTest {

  @Test
  void parse_networksAndHosts() {
    assertEquals("127.0.0.0/8", Cidr.parse("127.1.2.3/8").toString());
    assertEquals("127.0.0.9/32", Cidr.parse("127.0.0.9").toString());
    assertEquals("2001:db8::/32", Cidr.parse("2001:db8::1/32").toString());
    assertEquals("::1/128", Cidr.parse("[::1]").toString());
    assertEquals("0.0.0.0/0", Cidr.parse(" 127.0.0.0/0 ").toString());
  }

  @Test
  void contains_sameFamilyOnly() {
    Cidr loopback = Cidr.parse("127.0.0.0/8");
    assertTrue(loopback.contains(IpLiteral.parse("127.255.0.1")));
    assertFalse(loopback.contains(IpLiteral.parse("128.0.0.1")));
    assertFalse(loopback.contains(IpLiteral.parse("::1")));
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "localhost",
        "localhost/8",
        "lb4j-should-not-resolve/32",
        "zz:zz",
        "zz:zz/16",
        "127.0.0/8",
        "127.1",
        "010.0.0.0/8",
        "127.0.0.1/33",
        "::1/129",
        "127.0.0.1/",
        "127.0.0.1/+8",
        "127.0.0.1/-1",
        "127.0.0.1/8/8",
        "127.0.0.1/\u0668",
        "fe80::1%eth0/64",
        ""
      })
  void parse_notACidrLiteral_refusedNamingTheValue(String text) {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Cidr.parse(text));
    assertEquals(
        "cidr: '" + text + "' (expected: an address with an optional /prefix, such as 127.0.0.0/8)",
        e.getMessage());
  }
}
