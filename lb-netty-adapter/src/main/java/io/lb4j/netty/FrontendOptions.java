package io.lb4j.netty;

import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * What the proxy does at a frontend before any rule: accept a PROXY protocol header from an
 * upstream balancer, cap concurrent connections, and filter sources.
 *
 * <p>A source is refused when a {@code deny} network holds it, or when {@code allow} is not empty
 * and none of its networks holds it. Refused connections are closed at once and counted.
 *
 * <p>When a frontend accepts the PROXY protocol, a connection whose header is not complete within
 * {@code proxyProtocolTimeout} of its accept is closed and counted (as a refusal, a PROXY header
 * error and a PROXY header timeout of the frontend and the rule): a client that sends {@code PROXY
 * TCP4 1.2}, or half a v2 header, and then nothing holds its connection for that long, not for the
 * rule's idle timeout.
 *
 * <p>Instances are immutable and thread-safe.
 *
 * @param acceptProxyProtocol whether every connection must start with a PROXY v1 or v2 header,
 *     whose source replaces the connection's
 * @param maxConnections the most concurrent connections, or 0 for no limit
 * @param allow sources allowed, or empty for all
 * @param deny sources refused
 * @param proxyProtocolTimeout how long after its accept a connection may take to complete its PROXY
 *     header; unused unless {@code acceptProxyProtocol}
 */
public record FrontendOptions(
    boolean acceptProxyProtocol,
    int maxConnections,
    List<Cidr> allow,
    List<Cidr> deny,
    Duration proxyProtocolTimeout) {

  /**
   * The default PROXY header deadline, 5 s. An upstream balancer writes the header as soon as its
   * connection is up, so it arrives in the first segment; 5 s leaves room for that segment's first
   * two retransmissions (1 s and then 2 s at the initial RTO of RFC 6298, section 2). Envoy waits
   * at most 15 s for its listener filters, the PROXY protocol filter among them ({@code
   * listener_filters_timeout}); Caddy's {@code proxy_protocol} listener wrapper waits 5 s.
   */
  public static final Duration DEFAULT_PROXY_PROTOCOL_TIMEOUT = Duration.ofSeconds(5);

  /**
   * The longest PROXY header deadline accepted, 1 h: far beyond any retransmission, and a bound
   * that keeps the deadline's nanoseconds from overflowing.
   */
  public static final Duration MAX_PROXY_PROTOCOL_TIMEOUT = Duration.ofHours(1);

  /** No PROXY header, no limit, every source allowed. */
  public static final FrontendOptions DEFAULT = new FrontendOptions(false, 0, List.of(), List.of());

  /**
   * Validates the limit and the deadline, and copies the lists.
   *
   * @param acceptProxyProtocol whether every connection must start with a PROXY v1 or v2 header,
   *     whose source replaces the connection's
   * @param maxConnections the most concurrent connections, or 0 for no limit
   * @param allow sources allowed, or empty for all
   * @param deny sources refused
   * @param proxyProtocolTimeout how long after its accept a connection may take to complete its
   *     PROXY header; unused unless {@code acceptProxyProtocol}
   */
  public FrontendOptions {
    if (maxConnections < 0) {
      throw new IllegalArgumentException(
          "maxConnections: " + maxConnections + " (expected: >= 0, 0 for no limit)");
    }
    allow = List.copyOf(Objects.requireNonNull(allow, "allow"));
    deny = List.copyOf(Objects.requireNonNull(deny, "deny"));
    Objects.requireNonNull(proxyProtocolTimeout, "proxyProtocolTimeout");
    if (proxyProtocolTimeout.compareTo(Duration.ofMillis(1)) < 0
        || proxyProtocolTimeout.compareTo(MAX_PROXY_PROTOCOL_TIMEOUT) > 0) {
      throw new IllegalArgumentException(
          "proxyProtocolTimeout: " + format(proxyProtocolTimeout) + " (expected: 1ms-1h)");
    }
  }

  /**
   * Returns options with the {@linkplain #DEFAULT_PROXY_PROTOCOL_TIMEOUT default PROXY header
   * deadline}.
   *
   * @param acceptProxyProtocol whether every connection must start with a PROXY v1 or v2 header,
   *     whose source replaces the connection's
   * @param maxConnections the most concurrent connections, or 0 for no limit
   * @param allow sources allowed, or empty for all
   * @param deny sources refused
   */
  public FrontendOptions(
      boolean acceptProxyProtocol, int maxConnections, List<Cidr> allow, List<Cidr> deny) {
    this(acceptProxyProtocol, maxConnections, allow, deny, DEFAULT_PROXY_PROTOCOL_TIMEOUT);
  }

  /**
   * Returns these options with the PROXY header deadline {@code timeout}.
   *
   * @param timeout how long after its accept a connection may take to complete its PROXY header, 1
   *     ms to 1 h
   * @return a copy; these options are unchanged
   */
  public FrontendOptions withProxyProtocolTimeout(Duration timeout) {
    return new FrontendOptions(acceptProxyProtocol, maxConnections, allow, deny, timeout);
  }

  private static String format(Duration d) {
    return d.toNanos() % 1_000_000 == 0 ? d.toMillis() + "ms" : d.toString();
  }

  /** Returns the first deny network that holds {@code source}, or null. */
  Cidr deniedBy(InetAddress source) {
    // indexed loops: no iterator per connection
    for (int i = 0, n = deny.size(); i < n; i++) {
      Cidr c = deny.get(i);
      if (c.contains(source)) {
        return c;
      }
    }
    return null;
  }

  /** Returns whether the allow list lets {@code source} in: always when it is empty. */
  boolean allows(InetAddress source) {
    if (allow.isEmpty()) {
      return true;
    }
    for (int i = 0, n = allow.size(); i < n; i++) {
      if (allow.get(i).contains(source)) {
        return true;
      }
    }
    return false;
  }
}
