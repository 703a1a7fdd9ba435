package io.lb4j.netty;

import io.lb4j.Durations;
import io.netty.util.NetUtil;
import java.net.InetAddress;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * How the proxy connects to a rule's backends.
 *
 * <p>Defaults: no PROXY header; connect timeout 5 s (Envoy's {@code connect_timeout}); 3 connect
 * attempts, each on another backend when one is left (HAProxy's {@code retries 3} with {@code
 * option redispatch}); no source address (the kernel picks the source by route); a source-port
 * warning at 80% of the ports available to one backend address and port; no connection log.
 *
 * <p>Instances are immutable and thread-safe.
 *
 * @param sendProxyProtocol the PROXY protocol header sent to backends
 * @param connectTimeout how long one connect may take
 * @param maxConnectAttempts connects tried before the client is closed, 1-10
 * @param sourceAddresses local addresses backend connections are bound to, the least used first
 *     (each has its own ports, so several multiply the connections to one backend address and
 *     port); empty: the kernel picks the source address
 * @param sourcePortWarnPercent the share of the source ports available to one backend address and
 *     port, in percent (1-100), above which {@link SourcePortCheck} warns
 * @param accessLog whether each ended connection of the rule is logged in one line on the {@value
 *     AccessLog#LOGGER} logger ({@link AccessLog}); off by default, and then nothing is built for
 *     it
 */
public record RuleOptions(
    ProxyProtocol sendProxyProtocol,
    Duration connectTimeout,
    int maxConnectAttempts,
    List<SourceAddress> sourceAddresses,
    int sourcePortWarnPercent,
    boolean accessLog) {

  /** The share of the source ports above which a rule is warned, by default: 80%. */
  public static final int DEFAULT_SOURCE_PORT_WARN_PERCENT = 80;

  /** The defaults. */
  public static final RuleOptions DEFAULT =
      new RuleOptions(ProxyProtocol.NONE, Duration.ofSeconds(5), 3);

  /**
   * Validates the options and copies the source addresses.
   *
   * @param sendProxyProtocol the PROXY protocol header sent to backends
   * @param connectTimeout how long one connect may take
   * @param maxConnectAttempts connects tried before the client is closed, 1-10
   * @param accessLog whether each ended connection is logged on the connection log
   * @param sourceAddresses local addresses backend connections are bound to, the least used first
   *     (each has its own ports, so several multiply the connections to one backend address and
   *     port); empty: the kernel picks the source address
   * @param sourcePortWarnPercent the share of the source ports available to one backend address and
   *     port, in percent (1-100), above which {@link SourcePortCheck} warns
   */
  public RuleOptions {
    Objects.requireNonNull(sendProxyProtocol, "sendProxyProtocol");
    Objects.requireNonNull(connectTimeout, "connectTimeout");
    if (connectTimeout.isNegative()
        || connectTimeout.isZero()
        || connectTimeout.compareTo(Duration.ofMinutes(10)) > 0) {
      throw new IllegalArgumentException(
          "connectTimeout: " + Durations.format(connectTimeout) + " (expected: > 0s and <= 10m)");
    }
    if (maxConnectAttempts < 1 || maxConnectAttempts > 10) {
      throw new IllegalArgumentException(
          "maxConnectAttempts: " + maxConnectAttempts + " (expected: 1-10)");
    }
    sourceAddresses = List.copyOf(Objects.requireNonNull(sourceAddresses, "sourceAddresses"));
    Set<InetAddress> seen = new HashSet<>();
    for (SourceAddress s : sourceAddresses) {
      if (!seen.add(s.address())) {
        throw new IllegalArgumentException(
            "sourceAddresses: "
                + sourceAddresses
                + " (expected: each address once; "
                + NetUtil.toAddressString(s.address())
                + " is listed twice)");
      }
    }
    if (sourcePortWarnPercent < 1 || sourcePortWarnPercent > 100) {
      throw new IllegalArgumentException(
          "sourcePortWarnPercent: " + sourcePortWarnPercent + " (expected: 1-100)");
    }
  }

  /**
   * Options without the connection log.
   *
   * @param sendProxyProtocol the PROXY protocol header sent to backends
   * @param connectTimeout how long one connect may take
   * @param maxConnectAttempts connects tried before the client is closed, 1-10
   * @param sourceAddresses local addresses backend connections are bound to; empty for the kernel's
   *     choice
   * @param sourcePortWarnPercent the share of the source ports, 1-100, above which a rule is warned
   */
  public RuleOptions(
      ProxyProtocol sendProxyProtocol,
      Duration connectTimeout,
      int maxConnectAttempts,
      List<SourceAddress> sourceAddresses,
      int sourcePortWarnPercent) {
    this(
        sendProxyProtocol,
        connectTimeout,
        maxConnectAttempts,
        sourceAddresses,
        sourcePortWarnPercent,
        false);
  }

  /**
   * Options with no source address, the default source-port warning and no connection log.
   *
   * @param sendProxyProtocol the PROXY protocol header sent to backends
   * @param connectTimeout how long one connect may take
   * @param maxConnectAttempts connects tried before the client is closed, 1-10
   */
  public RuleOptions(
      ProxyProtocol sendProxyProtocol, Duration connectTimeout, int maxConnectAttempts) {
    this(
        sendProxyProtocol,
        connectTimeout,
        maxConnectAttempts,
        List.of(),
        DEFAULT_SOURCE_PORT_WARN_PERCENT);
  }

  /**
   * Returns these options sending {@code version} of the PROXY protocol.
   *
   * @param version the PROXY protocol version to send, or {@link ProxyProtocol#NONE}
   * @return a copy; these options are unchanged
   */
  public RuleOptions withProxyProtocol(ProxyProtocol version) {
    return new RuleOptions(
        version,
        connectTimeout,
        maxConnectAttempts,
        sourceAddresses,
        sourcePortWarnPercent,
        accessLog);
  }

  /**
   * Returns these options binding backend connections to {@code addresses}.
   *
   * @param addresses the local addresses to bind to, the least used first; empty for the kernel's
   *     choice
   * @return a copy; these options are unchanged
   */
  public RuleOptions withSourceAddresses(List<SourceAddress> addresses) {
    return new RuleOptions(
        sendProxyProtocol,
        connectTimeout,
        maxConnectAttempts,
        addresses,
        sourcePortWarnPercent,
        accessLog);
  }

  /**
   * Returns these options warning above {@code percent} of the source ports.
   *
   * @param percent the share of the source ports, 1-100
   * @return a copy; these options are unchanged
   */
  public RuleOptions withSourcePortWarnPercent(int percent) {
    return new RuleOptions(
        sendProxyProtocol, connectTimeout, maxConnectAttempts, sourceAddresses, percent, accessLog);
  }

  /**
   * Returns these options with the connection log on or off.
   *
   * @param on whether each ended connection of the rule is logged
   * @return a copy; these options are unchanged
   */
  public RuleOptions withAccessLog(boolean on) {
    return new RuleOptions(
        sendProxyProtocol,
        connectTimeout,
        maxConnectAttempts,
        sourceAddresses,
        sourcePortWarnPercent,
        on);
  }
}
