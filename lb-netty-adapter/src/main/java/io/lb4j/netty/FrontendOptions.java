package io.lb4j.netty;

import java.net.InetAddress;
import java.util.List;
import java.util.Objects;

/**
 * What the proxy does at a frontend before any rule: accept a PROXY protocol header from an
 * upstream balancer, cap concurrent connections, and filter sources.
 *
 * <p>A source is refused when a {@code deny} network holds it, or when {@code allow} is not empty
 * and none of its networks holds it. Refused connections are closed at once and counted.
 *
 * <p>Instances are immutable and thread-safe.
 *
 * @param acceptProxyProtocol whether every connection must start with a PROXY v1 or v2 header,
 *     whose source replaces the connection's
 * @param maxConnections the most concurrent connections, or 0 for no limit
 * @param allow sources allowed, or empty for all
 * @param deny sources refused
 */
public record FrontendOptions(
    boolean acceptProxyProtocol, int maxConnections, List<Cidr> allow, List<Cidr> deny) {

  /** No PROXY header, no limit, every source allowed. */
  public static final FrontendOptions DEFAULT = new FrontendOptions(false, 0, List.of(), List.of());

  /** Validates the limit and copies the lists. */
  public FrontendOptions {
    if (maxConnections < 0) {
      throw new IllegalArgumentException(
          "maxConnections: " + maxConnections + " (expected: >= 0, 0 for no limit)");
    }
    allow = List.copyOf(Objects.requireNonNull(allow, "allow"));
    deny = List.copyOf(Objects.requireNonNull(deny, "deny"));
  }

  /** Returns why {@code source} is refused, or null when it is allowed. */
  String refusal(InetAddress source) {
    // indexed loops: no iterator per connection
    for (int i = 0, n = deny.size(); i < n; i++) {
      Cidr c = deny.get(i);
      if (c.contains(source)) {
        return "source " + source.getHostAddress() + " is denied by " + c;
      }
    }
    if (allow.isEmpty()) {
      return null;
    }
    for (int i = 0, n = allow.size(); i < n; i++) {
      if (allow.get(i).contains(source)) {
        return null;
      }
    }
    return "source " + source.getHostAddress() + " is not in the allow list " + allow;
  }
}
