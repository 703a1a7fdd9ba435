package io.lb4j.netty;

import io.lb4j.Durations;
import java.time.Duration;
import java.util.Objects;

/**
 * How the proxy connects to a rule's backends.
 *
 * <p>Defaults: no PROXY header; connect timeout 5 s (Envoy's {@code connect_timeout}); 3 connect
 * attempts, each on another backend when one is left (HAProxy's {@code retries 3} with {@code
 * option redispatch}).
 *
 * <p>Instances are immutable and thread-safe.
 *
 * @param sendProxyProtocol the PROXY protocol header sent to backends
 * @param connectTimeout how long one connect may take
 * @param maxConnectAttempts connects tried before the client is closed, 1-10
 */
public record RuleOptions(
    ProxyProtocol sendProxyProtocol, Duration connectTimeout, int maxConnectAttempts) {

  /** The defaults. */
  public static final RuleOptions DEFAULT =
      new RuleOptions(ProxyProtocol.NONE, Duration.ofSeconds(5), 3);

  /** Validates the options. */
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
  }

  /** Returns these options sending {@code version} of the PROXY protocol. */
  public RuleOptions withProxyProtocol(ProxyProtocol version) {
    return new RuleOptions(version, connectTimeout, maxConnectAttempts);
  }
}
