package io.lb4j.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.InetSocketAddress;
import org.junit.jupiter.api.Test;

/** {@link AccessLog#format}: the fixed order, absent values, milliseconds, quoting. */
class AccessLogTest {
  private static ConnectionRecord record(
      InetSocketAddress client, long connectNanos, Termination t, RefusalReason r, String detail) {
    return new ConnectionRecord(
        "app",
        "fe",
        client,
        new InetSocketAddress("127.0.0.1", 8080),
        r == null ? "web-1" : null,
        r == null ? new InetSocketAddress("127.0.0.2", 9000) : null,
        connectNanos,
        1_234_999_999L,
        78,
        4711,
        r == null ? 2 : 0,
        t,
        r,
        detail);
  }

  @Test
  void format_connected_everyFieldInOrder() {
    assertEquals(
        "client=127.0.0.9:40312 frontend=fe listener=127.0.0.1:8080 rule=app backend=web-1"
            + " backend_addr=127.0.0.2:9000 connect_ms=12.005 duration_ms=1234"
            + " bytes_to_backend=78 bytes_to_client=4711 attempts=2 termination=--",
        AccessLog.format(
            record(
                new InetSocketAddress("127.0.0.9", 40312),
                12_005_900L,
                Termination.NORMAL,
                null,
                null)));
  }

  @Test
  void format_subMillisecondConnect_threeDecimals() {
    String line =
        AccessLog.format(
            record(
                new InetSocketAddress("127.0.0.9", 1), 412_000L, Termination.NORMAL, null, null));
    assertEquals(true, line.contains(" connect_ms=0.412 "), line);
    line =
        AccessLog.format(
            record(new InetSocketAddress("127.0.0.9", 1), 7_000L, Termination.NORMAL, null, null));
    assertEquals(true, line.contains(" connect_ms=0.007 "), line);
  }

  @Test
  void format_refusedIpv6ClientWithQuotes_bracketsDashesAndEscapes() {
    assertEquals(
        "client=[::1]:5000 frontend=fe listener=127.0.0.1:8080 rule=app backend=-"
            + " backend_addr=- connect_ms=-1 duration_ms=1234 bytes_to_backend=78"
            + " bytes_to_client=4711 attempts=0 termination=PR refusal=proxy_header_error"
            + " detail=\"v1 header: \\\"PROXY\\\" \\\\ then junk \"",
        AccessLog.format(
            record(
                new InetSocketAddress("::1", 5000),
                -1,
                Termination.REFUSED,
                RefusalReason.PROXY_HEADER_ERROR,
                "v1 header: \"PROXY\" \\ then junk\n")));
  }

  @Test
  void codes_twoCharactersEach_unique() {
    java.util.Set<String> seen = new java.util.HashSet<>();
    for (Termination t : Termination.values()) {
      assertEquals(2, t.code().length(), t.name());
      assertEquals(true, seen.add(t.code()), "duplicate code " + t.code());
    }
  }
}
