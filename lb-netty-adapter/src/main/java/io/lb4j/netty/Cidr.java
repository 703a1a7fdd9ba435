package io.lb4j.netty;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Objects;

/**
 * An IPv4 or IPv6 network in CIDR notation, such as {@code 127.0.0.0/8} or {@code ::1/128}, for
 * frontend allow and deny lists. An address without a prefix length is a single host.
 *
 * <p>{@link #toString()} reads {@code 127.0.0.0/8}.
 *
 * <p>Instances are immutable and thread-safe.
 *
 * @param network the network address, with the host bits cleared
 * @param prefixLength the number of leading bits that must match
 */
public record Cidr(InetAddress network, int prefixLength) {

  /** Validates the prefix length against the address family. */
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
   * @throws IllegalArgumentException naming the value if it is not a CIDR literal
   */
  public static Cidr parse(String cidr) {
    Objects.requireNonNull(cidr, "cidr");
    String s = cidr.trim();
    int slash = s.indexOf('/');
    String host = slash < 0 ? s : s.substring(0, slash);
    // strict literals: InetAddress also takes inet_aton's short forms ("127.0.0" = 127.0.0.0)
    boolean literal =
        host.matches("\\d{1,3}(\\.\\d{1,3}){3}")
            || (host.contains(":") && host.matches("[0-9A-Fa-f:.]+"));
    try {
      if (!literal) {
        throw new UnknownHostException(host);
      }
      InetAddress address = InetAddress.getByName(host);
      int bits = address.getAddress().length * 8;
      int prefix = slash < 0 ? bits : Integer.parseInt(s.substring(slash + 1));
      if (prefix < 0 || prefix > bits) {
        throw new NumberFormatException();
      }
      return new Cidr(InetAddress.getByAddress(mask(address.getAddress(), prefix)), prefix);
    } catch (UnknownHostException | NumberFormatException e) {
      throw new IllegalArgumentException(
          "cidr: '"
              + cidr
              + "' (expected: an address with an optional /prefix, such as 127.0.0.0/8)",
          e);
    }
  }

  /** Returns whether {@code address} lies in this network (IPv4 only in IPv4 networks). */
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
    return network.getHostAddress() + "/" + prefixLength;
  }
}
