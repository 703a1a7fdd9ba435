package io.lb4j.xds;

import io.lb4j.Durations;
import io.lb4j.IpLiteral;
import io.lb4j.discovery.MembershipSourceProvider;
import io.lb4j.discovery.SourceSettings;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * Makes {@link XdsMembershipSource}s from a pool's {@code discovery:} block of type {@code xds}:
 *
 * <pre>{@code
 * discovery:
 *   type: xds
 *   server: 127.0.0.1:18000     # the management server, ip:port ([::1]:18000 for IPv6); required
 *   cluster: web                # the cluster whose endpoints are the members; required
 *   node: lb4j-edge-1           # the node id; lb4j by default
 *   nodeCluster: lb4j           # the node's cluster field; lb4j by default
 *   mode: ads                   # ads (StreamAggregatedResources) or eds (StreamEndpoints); ads
 *   backoffInitial: 500ms       # the first reconnect delay; 500ms
 *   backoffMax: 30s             # the largest reconnect delay; 30s
 * }</pre>
 *
 * <p>Registered in {@code META-INF/services/io.lb4j.discovery.MembershipSourceProvider}.
 *
 * <p>Thread-safe: stateless.
 */
public final class XdsMembershipSourceProvider implements MembershipSourceProvider {
  static final List<String> SETTINGS =
      List.of("server", "cluster", "node", "nodeCluster", "mode", "backoffInitial", "backoffMax");

  private static final String SERVER_EXPECTED =
      "ip:port of the management server, such as 127.0.0.1:18000 or [::1]:18000";

  /** Creates the provider; ServiceLoader calls this. */
  public XdsMembershipSourceProvider() {}

  /** Returns {@code xds}. */
  @Override
  public String type() {
    return "xds";
  }

  /**
   * Returns an xDS source for {@code pool} from {@code settings}; nothing is started.
   *
   * @throws IllegalArgumentException naming the setting, its value and what was expected
   */
  @Override
  public XdsMembershipSource create(String pool, Map<String, Object> settings) {
    Objects.requireNonNull(pool, "pool");
    Objects.requireNonNull(settings, "settings");
    SourceSettings.checkKnown(settings, SETTINGS);
    XdsMembershipSource.Builder b =
        XdsMembershipSource.builder(
            server(required(settings, "server")), text(settings, "cluster", true));
    String node = text(settings, "node", false);
    if (node != null) {
      b.node(node);
    }
    if (settings.containsKey("nodeCluster")) {
      b.nodeCluster(text(settings, "nodeCluster", false));
    }
    String mode = text(settings, "mode", false);
    if (mode != null) {
      b.mode(mode(mode));
    }
    Duration initial = duration(settings, "backoffInitial");
    Duration max = duration(settings, "backoffMax");
    b.backoff(
        initial == null ? XdsMembershipSource.DEFAULT_BACKOFF_INITIAL : initial,
        max == null ? XdsMembershipSource.DEFAULT_BACKOFF_MAX : max);
    return b.build();
  }

  private static Object required(Map<String, Object> settings, String key) {
    Object v = settings.get(key);
    if (v == null) {
      throw new IllegalArgumentException(
          key
              + ": missing (expected: "
              + (key.equals("server") ? SERVER_EXPECTED : "a cluster name")
              + ")");
    }
    return v;
  }

  /** Returns a string setting, or null when absent and optional. */
  private static String text(Map<String, Object> settings, String key, boolean required) {
    Object v = required ? required(settings, key) : settings.get(key);
    if (v == null) {
      return null;
    }
    if (!(v instanceof String s) || s.isBlank()) {
      throw new IllegalArgumentException(
          key + ": " + quoted(v) + " (expected: a non-empty string)");
    }
    return s;
  }

  /** Parses {@code ip:port} or {@code [ipv6]:port}; never resolves a name. */
  static InetSocketAddress server(Object value) {
    if (!(value instanceof String text)) {
      throw new IllegalArgumentException(
          "server: " + quoted(value) + " (expected: " + SERVER_EXPECTED + ")");
    }
    int colon = text.lastIndexOf(':');
    String host = colon < 0 ? "" : text.substring(0, colon);
    String port = colon < 0 ? "" : text.substring(colon + 1);
    boolean bracketed = host.startsWith("[") && host.endsWith("]");
    if (host.isEmpty() || (host.indexOf(':') >= 0 && !bracketed)) {
      throw new IllegalArgumentException(
          "server: '" + text + "' (expected: " + SERVER_EXPECTED + ")");
    }
    InetAddress ip;
    try {
      ip = IpLiteral.parse(host);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "server: '"
              + text
              + "' (expected: "
              + SERVER_EXPECTED
              + "; a host name is never resolved)",
          e);
    }
    int p;
    try {
      p = Integer.parseInt(port);
    } catch (NumberFormatException e) {
      p = -1;
    }
    if (p < 1 || p > 65535 || !port.equals(Integer.toString(p))) {
      throw new IllegalArgumentException(
          "server: '" + text + "' (expected: " + SERVER_EXPECTED + ", the port 1-65535)");
    }
    return new InetSocketAddress(ip, p);
  }

  static XdsMembershipSource.Mode mode(String text) {
    switch (text.toLowerCase(Locale.ROOT)) {
      case "ads":
        return XdsMembershipSource.Mode.ADS;
      case "eds":
        return XdsMembershipSource.Mode.EDS;
      default:
        throw new IllegalArgumentException("mode: '" + text + "' (expected: ads or eds)");
    }
  }

  private static Duration duration(Map<String, Object> settings, String key) {
    Object v = settings.get(key);
    if (v == null) {
      return null;
    }
    Duration d = Durations.parse(key, String.valueOf(v));
    if (d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException(
          key + ": " + quoted(v) + " (expected: a positive duration such as 500ms)");
    }
    return d;
  }

  private static String quoted(Object v) {
    return v instanceof String ? "'" + v + "'" : String.valueOf(v);
  }
}
