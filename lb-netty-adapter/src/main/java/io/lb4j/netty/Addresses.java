package io.lb4j.netty;

import io.netty.util.NetUtil;
import java.net.InetAddress;
import java.net.InetSocketAddress;

/**
 * Addresses as people write them: {@code 127.0.0.1}, {@code ::1} (compressed, RFC 5952), and with a
 * port {@code 127.0.0.1:80} or {@code [::1]:80}.
 *
 * <p>Thread-safe: stateless.
 */
final class Addresses {
  private Addresses() {}

  /** Returns {@code 127.0.0.1} or the compressed form of an IPv6 address, {@code ::1}. */
  static String host(InetAddress address) {
    return NetUtil.toAddressString(address);
  }

  /** Returns {@code 127.0.0.1:80} or {@code [::1]:80}. */
  static String hostPort(InetSocketAddress address) {
    String host = host(address.getAddress());
    return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + address.getPort();
  }
}
