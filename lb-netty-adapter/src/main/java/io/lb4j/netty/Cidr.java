package io.lb4j.netty;

import io.lb4j.IpLiteral;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Objects;

/**
 * An IPv4 or IPv6 network in CIDR notation, such as {@code 127.0.0.0/8} or {@code ::1/128}, for
 * frontend allow and deny lists. An address without a prefix length is a single host.
 *
 * <p>{@link #toString()} reads {@code 127.0.0.0/8}, or {@code 2001:db8::/32} (IPv6 compressed).
 *
 * <p>Instances are immutable and thread-safe.
 *
 * @param network the network address, with the host bits cleared
 * @param prefixLength the number of leading bits that must match
 */
public record Cidr(InetAddress network, int prefixLength) {

  /**
   * Validates the prefix length against the address family.
   *
   * @param network the network address, with the host bits cleared
   * @param prefixLength the number of leading bits that must match
   */
  public Cidr {
    Objects.requireNonNull(network, "network");
    int max = network.getAddress().length * 8;
    if (prefixLength < 0 || prefixLength > max) {
      throw new IllegalArgumentException(
          "prefixLength: " + prefixLength + " (expected: 0-" + max + ")");
    }
  }

  /**
   * Parses {@code 127.0.0.0/8}, {@code ::1/128} or a single address; never consults DNS.
   *
   * @param cidr the text, such as {@code 127.0.0.0/8}
   * @return the network; a single address is a /32 or /128
   * @throws IllegalArgumentException naming the value if it is not a CIDR literal
   */
  public static Cidr parse(String cidr) {
    Objects.requireNonNull(cidr, "cidr");
    String s = cidr.trim();
    int slash = s.indexOf('/');
    String host = slash < 0 ? s : s.substring(0, slash);
    InetAddress address;
    try {
      address = IpLiteral.parse(host); // strict: never a name, never inet_aton's short forms
    } catch (IllegalArgumentException e) {
      throw refused(cidr, e);
    }
    int bits = address.getAddress().length * 8;
    int prefix = slash < 0 ? bits : prefixLength(s.substring(slash + 1), bits);
    if (prefix < 0) {
      throw refused(cidr, null);
    }
    try {
      return new Cidr(InetAddress.getByAddress(mask(address.getAddress(), prefix)), prefix);
    } catch (UnknownHostException e) {
      throw new AssertionError("4 or 16 bytes", e); // cannot happen
    }
  }

  private static IllegalArgumentException refused(String cidr, Throwable cause) {
    return new IllegalArgumentException(
        "cidr: '" + cidr + "' (expected: an address with an optional /prefix, such as 127.0.0.0/8)",
        cause);
  }

  /** Returns 1-3 ASCII digits' value if at most {@code bits}, else -1. */
  private static int prefixLength(String text, int bits) {
    if (text.isEmpty() || text.length() > 3) {
      return -1;
    }
    int value = 0;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c < '0' || c > '9') {
        return -1;
      }
      value = value * 10 + (c - '0');
    }
    return value <= bits ? value : -1;
  }

  /**
   * Returns whether {@code address} lies in this network (IPv4 only in IPv4 networks).
   *
   * @param address any address
   * @return true if its first {@code prefixLength} bits are the network's
   */
  public boolean contains(InetAddress address) {
    byte[] a = address.getAddress();
    byte[] n = network.getAddress();
    if (a.length != n.length) {
      return false;
    }
    for (int i = 0; i < n.length; i++) {
      int keep = Math.max(0, Math.min(8, prefixLength - 8 * i));
      if ((byte) (a[i] & (0xFF << (8 - keep))) != n[i]) {
        return false;
      }
    }
    return true;
  }

  private static byte[] mask(byte[] address, int prefix) {
    byte[] out = address.clone();
    for (int i = 0; i < out.length; i++) {
      int keep = Math.max(0, Math.min(8, prefix - 8 * i));
      out[i] &= (byte) (0xFF << (8 - keep));
    }
    return out;
  }

  @Override
  public String toString() {
    return IpLiteral.format(network) + "/" + prefixLength;
  }
}
