package io.lb4j.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class SourceAddressTest {
  @ParameterizedTest
  @CsvSource({
    "127.0.0.11, 127.0.0.11, 0",
    "127.0.0.11:40000-40099, 127.0.0.11:40000-40099, 100",
    "2001:db8::11, 2001:db8::11, 0",
    "[2001:db8::11], 2001:db8::11, 0",
    "[::1]:16379-16379, [::1]:16379-16379, 1",
    "'[0:0:0:0:0:0:0:1]:1-2', '[::1]:1-2', 2"
  })
  void parse_literal_printedAsWritten(String text, String printed, int ports) {
    SourceAddress s = SourceAddress.parse(text);
    assertEquals(printed, s.toString());
    assertEquals(ports, s.portCount());
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "localhost",
        "127.0.0.011",
        "127.0.0.11:",
        "127.0.0.11:40000",
        "127.0.0.11:-40000",
        "127.0.0.11:40000-",
        "127.0.0.11:0400-0500",
        "127.0.0.11:4x-50",
        "[::1]40000-40001",
        "::1:40000-40001x",
        "zz:zz"
      })
  void parse_notALiteralWithRange_namesValueAndForm(String text) {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> SourceAddress.parse(text));
    assertEquals(
        "sourceAddress: '"
            + text
            + "' (expected: an IP literal, optionally with a port range: 127.0.0.11,"
            + " 127.0.0.11:40000-40099, [2001:db8::11]:40000-40099)",
        e.getMessage());
  }

  @Test
  void parse_badRange_namesRangeAndBounds() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> SourceAddress.parse("[::1]:40001-40000"));
    assertEquals(
        "sourceAddress: '[::1]:40001-40000' (expected: a port range LOW-HIGH with 1 <= LOW <= HIGH"
            + " <= 65535)",
        e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> SourceAddress.parse("0.0.0.0"));
    assertEquals(
        "sourceAddress: '0.0.0.0' (expected: a unicast address of this host, not a wildcard or"
            + " multicast address)",
        e.getMessage());
  }

  @Test
  void ruleOptions_sameAddressTwiceOrBadPercent_refused() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                RuleOptions.DEFAULT.withSourceAddresses(
                    List.of(
                        SourceAddress.parse("127.0.0.11"),
                        SourceAddress.parse("127.0.0.11:40000-40001"))));
    assertEquals(
        "sourceAddresses: [127.0.0.11, 127.0.0.11:40000-40001] (expected: each address once;"
            + " 127.0.0.11 is listed twice)",
        e.getMessage());
    e =
        assertThrows(
            IllegalArgumentException.class, () -> RuleOptions.DEFAULT.withSourcePortWarnPercent(0));
    assertEquals("sourcePortWarnPercent: 0 (expected: 1-100)", e.getMessage());
  }
}
