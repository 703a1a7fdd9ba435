package io.lb4j.netty;

import io.lb4j.IpLiteral;
import io.netty.util.NetUtil;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.Objects;

/**
 * A local address the proxy binds its backend connections to, as HAProxy's {@code source} and
 * Envoy's upstream {@code bind_config} do: each source address has its own ephemeral ports, so
 * several multiply the connections a rule can hold open to one backend address and port.
 *
 * <p>Without a port range ({@code 127.0.0.11}) the kernel picks the port from {@code
 * net.ipv4.ip_local_port_range} at connect, per backend address and port (on epoll and io_uring the
 * proxy sets {@code IP_BIND_ADDRESS_NO_PORT}; on NIO the port is picked at bind, so the range is
 * shared by every backend). With a range ({@code 127.0.0.11:40000-40099}) the proxy picks the port
 * itself from that range, one port per open connection across all backends (HAProxy's {@code source
 * addr:low-high}), and never more connections than the range has ports.
 *
 * <pre>{@code
 * SourceAddress.parse("127.0.0.11");
 * SourceAddress.parse("[2001:db8::11]:40000-40099");
 * }</pre>
 *
 * <p>Instances are immutable and thread-safe.
 *
 * @param address the local address; must be an address of this host
 * @param lowPort the first port of the proxy's own range, or 0 to let the kernel pick
 * @param highPort the last port of the proxy's own range, or 0 to let the kernel pick
 */
public record SourceAddress(InetAddress address, int lowPort, int highPort) {

  /**
   * Validates the address and the range.
   *
   * @param address the local address; must be an address of this host
   * @param lowPort the first port of the proxy's own range, or 0 to let the kernel pick
   * @param highPort the last port of the proxy's own range, or 0 to let the kernel pick
   */
  public SourceAddress {
    Objects.requireNonNull(address, "address");
    if (address.isAnyLocalAddress() || address.isMulticastAddress()) {
      throw new IllegalArgumentException(
          "sourceAddress: '"
              + NetUtil.toAddressString(address)
              + "' (expected: a unicast address of this host, not a wildcard or multicast address)");
    }
    if (lowPort != 0 || highPort != 0) {
      if (lowPort < 1 || highPort > 65535 || lowPort > highPort) {
        throw new IllegalArgumentException(
            "sourceAddress: '"
                + host(address)
                + ":"
                + lowPort
                + "-"
                + highPort
                + "' (expected: a port range LOW-HIGH with 1 <= LOW <= HIGH <= 65535)");
      }
    }
  }

  /**
   * Returns a source address whose ports the kernel picks.
   *
   * @param address the local IP address
   * @return the source address, without a port range
   */
  public static SourceAddress of(InetAddress address) {
    return new SourceAddress(address, 0, 0);
  }

  /**
   * Returns the source address {@code text} spells: an IP literal ({@code 127.0.0.11}, {@code
   * 2001:db8::11} or {@code [2001:db8::11]}), optionally with a port range ({@code
   * 127.0.0.11:40000-40099}, {@code [2001:db8::11]:40000-40099}). Never resolves a name.
   *
   * @param text the text, such as {@code 127.0.0.11:40000-40099}
   * @return the source address
   * @throws IllegalArgumentException naming the value and the expected form
   */
  public static SourceAddress parse(String text) {
    Objects.requireNonNull(text, "sourceAddress");
    String host = text;
    String range = null;
    if (text.startsWith("[")) {
      int close = text.indexOf(']');
      if (close > 0 && close + 1 < text.length()) {
        if (text.charAt(close + 1) != ':') {
          throw invalid(text);
        }
        host = text.substring(0, close + 1);
        range = text.substring(close + 2);
      }
    } else if (text.indexOf(':') == text.lastIndexOf(':') && text.indexOf(':') >= 0) {
      host = text.substring(0, text.indexOf(':')); // one colon: IPv4 with a range
      range = text.substring(text.indexOf(':') + 1);
    }
    InetAddress address;
    try {
      address = IpLiteral.parse(host);
    } catch (IllegalArgumentException e) {
      throw invalid(text);
    }
    if (range == null) {
      return of(address);
    }
    int dash = range.indexOf('-');
    if (dash <= 0) {
      throw invalid(text);
    }
    return new SourceAddress(
        address, port(range.substring(0, dash), text), port(range.substring(dash + 1), text));
  }

  private static int port(String digits, String text) {
    if (digits.isEmpty()
        || digits.length() > 5
        || (digits.length() > 1 && digits.charAt(0) == '0')) {
      throw invalid(text);
    }
    for (int i = 0; i < digits.length(); i++) {
      if (digits.charAt(i) < '0' || digits.charAt(i) > '9') {
        throw invalid(text);
      }
    }
    return Integer.parseInt(digits);
  }

  private static IllegalArgumentException invalid(String text) {
    return new IllegalArgumentException(
        "sourceAddress: '"
            + text
            + "' (expected: an IP literal, optionally with a port range: 127.0.0.11,"
            + " 127.0.0.11:40000-40099, [2001:db8::11]:40000-40099)");
  }

  /** {@return whether the proxy picks the ports from its own range} */
  public boolean hasPortRange() {
    return lowPort != 0;
  }

  /** {@return the number of ports in the proxy's own range, or 0 when the kernel picks} */
  public int portCount() {
    return hasPortRange() ? highPort - lowPort + 1 : 0;
  }

  static String host(InetAddress address) {
    String s = IpLiteral.format(address);
    return address instanceof Inet6Address ? "[" + s + "]" : s;
  }

  /** As written in a configuration: {@code 127.0.0.11}, {@code [::1]:40000-40099}. */
  @Override
  public String toString() {
    if (!hasPortRange()) {
      return NetUtil.toAddressString(address);
    }
    return host(address) + ":" + lowPort + "-" + highPort;
  }
}
