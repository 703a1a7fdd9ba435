package io.lb4j.dns;

import io.lb4j.Durations;
import io.lb4j.discovery.MembershipSource;
import io.lb4j.discovery.MembershipSourceProvider;
import io.lb4j.discovery.SourceSettings;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Makes {@link DnsMembershipSource}s of type {@code dns} from a pool's {@code discovery:} block;
 * registered for {@link java.util.ServiceLoader}.
 *
 * <pre>{@code
 * pools:
 *   - name: web
 *     discovery:
 *       type: dns
 *       name: _http._tcp.web.example   # required
 *       record: SRV                    # A (default), AAAA, A_AAAA or SRV
 *       server: 192.0.2.53:53            # default: the first nameserver of /etc/resolv.conf
 *       ttlFloor: 1s                   # shortest time between two resolutions
 *       ttlCap: 5m                     # longest time an answer is used
 *       timeout: 2s                    # per query
 *       retryBase: 1s                  # after a failure, doubling up to retryMax
 *       retryMax: 30s
 * }</pre>
 *
 * <p>{@code port} (1-65535) is required with {@code A}, {@code AAAA} and {@code A_AAAA} and refused
 * with {@code SRV}. {@code server} is an IP literal with an optional port ({@code 192.0.2.53},
 * {@code 192.0.2.53:5353}, {@code [::1]:5353}; 53 without one). An unknown, missing or malformed
 * setting is an {@link IllegalArgumentException} such as {@code discovery.ttlFlor: '1s' (expected:
 * one of [name, record, ...]; did you mean ttlFloor?)}.
 *
 * <p>Thread-safe: stateless.
 */
public final class DnsMembershipSourceProvider implements MembershipSourceProvider {

  /** The settings a {@code dns} block may have, besides {@code type}. */
  static final List<String> SETTINGS =
      List.of(
          "name",
          "record",
          "port",
          "server",
          "ttlFloor",
          "ttlCap",
          "timeout",
          "retryBase",
          "retryMax");

  private static final String PREFIX = "discovery.";

  /** Public for {@link java.util.ServiceLoader}. */
  public DnsMembershipSourceProvider() {}

  /** Returns {@code dns}. */
  @Override
  public String type() {
    return "dns";
  }

  /**
   * Returns a source for pool {@code pool} from {@code settings}, not started.
   *
   * @throws IllegalArgumentException naming the setting ({@code discovery.port}), the value and
   *     what was expected, for an unknown, missing or malformed setting
   */
  @Override
  public MembershipSource create(String pool, Map<String, Object> settings) {
    Objects.requireNonNull(pool, "pool");
    Objects.requireNonNull(settings, "settings");
    try {
      SourceSettings.checkKnown(settings, SETTINGS);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(PREFIX + e.getMessage(), e);
    }
    Object name = settings.get("name");
    if (!(name instanceof String text)) {
      throw new IllegalArgumentException(
          PREFIX
              + "name: "
              + (name == null ? "missing" : quote(name))
              + " (expected: the DNS name to resolve, such as web.example)");
    }
    try {
      return configure(text, settings).build();
    } catch (IllegalArgumentException e) {
      throw e.getMessage() != null && e.getMessage().startsWith(PREFIX)
          ? e
          : new IllegalArgumentException(PREFIX + e.getMessage(), e);
    }
  }

  private static DnsMembershipSource.Builder configure(String name, Map<String, Object> settings) {
    DnsMembershipSource.Builder b = DnsMembershipSource.builder(name);
    if (settings.containsKey("record")) {
      b.record(record(settings.get("record")));
    }
    if (settings.containsKey("port")) {
      b.port(port(settings.get("port")));
    }
    if (settings.containsKey("server")) {
      Object server = settings.get("server");
      if (!(server instanceof String text)) {
        throw new IllegalArgumentException(
            PREFIX + "server: " + quote(server) + DnsMembershipSource.Builder.SERVER_EXPECTED);
      }
      b.server(text);
    }
    if (settings.containsKey("ttlFloor")) {
      b.ttlFloor(duration("ttlFloor", settings.get("ttlFloor")));
    }
    if (settings.containsKey("ttlCap")) {
      b.ttlCap(duration("ttlCap", settings.get("ttlCap")));
    }
    if (settings.containsKey("timeout")) {
      b.timeout(duration("timeout", settings.get("timeout")));
    }
    if (settings.containsKey("retryBase") || settings.containsKey("retryMax")) {
      b.retry(
          settings.containsKey("retryBase")
              ? duration("retryBase", settings.get("retryBase"))
              : RefreshSchedule.DEFAULT_RETRY_BASE,
          settings.containsKey("retryMax")
              ? duration("retryMax", settings.get("retryMax"))
              : RefreshSchedule.DEFAULT_RETRY_MAX);
    }
    return b;
  }

  private static DnsRecordType record(Object value) {
    if (value instanceof String s) {
      for (DnsRecordType t : DnsRecordType.values()) {
        if (t.name().equalsIgnoreCase(s.trim())) {
          return t;
        }
      }
    }
    throw new IllegalArgumentException(
        PREFIX + "record: " + quote(value) + " (expected: one of A, AAAA, A_AAAA, SRV)");
  }

  private static int port(Object value) {
    int port = -1;
    if (value instanceof Integer i) {
      port = i;
    } else if (value instanceof String s && s.trim().matches("[0-9]{1,5}")) {
      port = Integer.parseInt(s.trim());
    }
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException(
          PREFIX + "port: " + quote(value) + " (expected: the members' port, 1-65535)");
    }
    return port;
  }

  private static Duration duration(String field, Object value) {
    if (!(value instanceof String s)) {
      throw new IllegalArgumentException(
          PREFIX
              + field
              + ": "
              + quote(value)
              + " (expected: a duration with its unit, such as 500ms, 5s or 5m)");
    }
    return Durations.parse(PREFIX + field, s);
  }

  private static String quote(Object value) {
    return SourceSettings.quote(value);
  }
}
