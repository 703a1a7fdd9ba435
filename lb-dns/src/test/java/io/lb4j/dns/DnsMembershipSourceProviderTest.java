package io.lb4j.dns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.lb4j.discovery.MembershipSource;
import io.lb4j.discovery.MembershipSourceProvider;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;

class DnsMembershipSourceProviderTest {
  private final DnsMembershipSourceProvider provider = new DnsMembershipSourceProvider();

  private static Map<String, Object> settings(Object... keyValues) {
    Map<String, Object> m = new HashMap<>();
    for (int i = 0; i < keyValues.length; i += 2) {
      m.put((String) keyValues[i], keyValues[i + 1]);
    }
    return m;
  }

  private String error(Object... keyValues) {
    return assertThrows(
            IllegalArgumentException.class, () -> provider.create("web", settings(keyValues)))
        .getMessage();
  }

  @Test
  void serviceLoader_findsTheDnsProvider() {
    List<String> types =
        ServiceLoader.load(MembershipSourceProvider.class).stream()
            .map(p -> p.get().type())
            .toList();
    assertEquals(List.of("dns"), types);
  }

  @Test
  void create_srv_everySetting() {
    try (MembershipSource source =
        provider.create(
            "web",
            settings(
                "name", "_http._tcp.web.test",
                "record", "SRV",
                "server", "127.0.0.53:5353",
                "ttlFloor", "2s",
                "ttlCap", "1m",
                "timeout", "500ms",
                "retryBase", "2s",
                "retryMax", "1m"))) {
      assertInstanceOf(DnsMembershipSource.class, source);
      assertEquals("dns SRV _http._tcp.web.test via 127.0.0.53:5353", source.describe());
    }
  }

  @Test
  void create_aWithPortAsNumberOrText() {
    try (MembershipSource source =
        provider.create(
            "web", settings("name", "web.test", "port", 8080, "server", "127.10.0.2"))) {
      assertEquals("dns A web.test port 8080 via 127.10.0.2:53", source.describe());
    }
    try (MembershipSource source =
        provider.create(
            "web",
            settings(
                "name", "web.test", "record", "a_aaaa", "port", "80", "server", "[::1]:5353"))) {
      assertEquals("dns A_AAAA web.test port 80 via [::1]:5353", source.describe());
    }
  }

  @Test
  void server_forms() {
    assertEquals("127.10.0.2:53", via("127.10.0.2"));
    assertEquals("127.0.0.53:5353", via("127.0.0.53:5353"));
    assertEquals("[::1]:53", via("::1"));
    assertEquals("[::1]:53", via("[::1]"));
    assertEquals("[2001:db8::2]:5353", via("[2001:db8::2]:5353"));
  }

  private String via(String server) {
    String d =
        provider.create("web", settings("name", "w.test", "port", 1, "server", server)).describe();
    return d.substring(d.indexOf(" via ") + 5);
  }

  @Test
  void create_missingOrMalformedSettings_namedWithWhatWasExpected() {
    assertEquals(
        "discovery.name: missing (expected: the DNS name to resolve, such as web.example)",
        error("port", 80));
    assertEquals(
        "discovery.port: missing (expected: the members' port, 1-65535, with record A)",
        error("name", "web.test", "server", "127.10.0.2"));
    assertEquals(
        "discovery.port: 80 (expected: none with record SRV: its records give the ports)",
        error("name", "_x._tcp.web.test", "record", "SRV", "port", 80, "server", "127.10.0.2"));
    assertEquals(
        "discovery.record: 'MX' (expected: one of A, AAAA, A_AAAA, SRV)",
        error("name", "web.test", "record", "MX"));
    assertEquals(
        "discovery.port: 70000 (expected: the members' port, 1-65535)",
        error("name", "web.test", "port", 70000));
    assertEquals(
        "discovery.port: 'http' (expected: the members' port, 1-65535)",
        error("name", "web.test", "port", "http"));
    assertEquals(
        "discovery.server: 'dns.example:53' (expected: an IP address with an optional port, such"
            + " as 192.0.2.53, 127.0.0.53:5353 or [::1]:5353; names are not resolved)",
        error("name", "web.test", "port", 80, "server", "dns.example:53"));
    assertEquals(
        "discovery.server: '127.10.0.2:0' (expected: an IP address with an optional port, such as"
            + " 192.0.2.53, 127.0.0.53:5353 or [::1]:5353; names are not resolved)",
        error("name", "web.test", "port", 80, "server", "127.10.0.2:0"));
    assertEquals(
        "discovery.server: 53 (expected: an IP address with an optional port, such as 192.0.2.53,"
            + " 127.0.0.53:5353 or [::1]:5353; names are not resolved)",
        error("name", "web.test", "port", 80, "server", 53));
    assertEquals(
        "discovery.ttlFloor: 5 (expected: a duration with its unit, such as 500ms, 5s or 5m)",
        error("name", "web.test", "port", 80, "server", "127.10.0.2", "ttlFloor", 5));
    assertEquals(
        "discovery.ttlCap: 'soon' (expected: a duration such as 250ms, 5s, 4m, 1h, 1d or PT5S)",
        error("name", "web.test", "port", 80, "server", "127.10.0.2", "ttlCap", "soon"));
    assertEquals(
        "discovery.ttlCap: 1s (expected: >= ttlFloor, 10s)",
        error(
            "name",
            "web.test",
            "port",
            80,
            "server",
            "127.10.0.2",
            "ttlFloor",
            "10s",
            "ttlCap",
            "1s"));
    assertEquals(
        "discovery.timeout: 0s (expected: > 0)",
        error("name", "web.test", "port", 80, "server", "127.10.0.2", "timeout", "0s"));
    assertEquals(
        "discovery.name: '192.0.2.1' is an IP address (expected: a DNS name such as web.example or"
            + " _http._tcp.web.example; a fixed address belongs in the pool's backends)",
        error("name", "192.0.2.1", "port", 80));
  }

  @Test
  void create_unknownSetting_suggestsTheNearest() {
    assertEquals(
        "discovery.ttlFlor: '1s' (expected: one of [name, record, port, server, ttlFloor, ttlCap,"
            + " timeout, retryBase, retryMax]; did you mean ttlFloor?)",
        error("name", "web.test", "port", 80, "ttlFlor", "1s"));
    assertEquals(
        "discovery.type: 'SRV' (expected: one of [name, record, port, server, ttlFloor, ttlCap,"
            + " timeout, retryBase, retryMax])",
        error("name", "web.test", "type", "SRV"));
    assertEquals(
        "server",
        io.lb4j.discovery.SourceSettings.nearest("Server", DnsMembershipSourceProvider.SETTINGS));
    assertEquals(
        "record",
        io.lb4j.discovery.SourceSettings.nearest("records", DnsMembershipSourceProvider.SETTINGS));
    assertEquals(
        null,
        io.lb4j.discovery.SourceSettings.nearest("zone", DnsMembershipSourceProvider.SETTINGS));
  }
}
