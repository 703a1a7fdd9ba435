package io.lb4j;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;

/**
 * A flow's 5-tuple: source address and port, destination address and port, protocol.
 *
 * <p>Addresses are held as two {@code long}s each, the 128 bits of an IPv6 address; an IPv4 address
 * is held as its IPv4-mapped IPv6 form {@code ::ffff:a.b.c.d}. So a data path can build a key
 * straight from the bytes of a packet or a socket with {@link #ipv4} or {@link #ipv6}, and the hash
 * reads primitive fields, without an {@link InetAddress} in between.
 *
 * <pre>{@code
 * FlowKey flow = FlowKey.of(Protocol.TCP,
 *     new InetSocketAddress("127.0.0.2", 40000), new InetSocketAddress("127.0.0.1", 80));
 * }</pre>
 *
 * <p>{@link #toString()} reads {@code TCP 127.0.0.2:40000 -> 127.0.0.1:80}, or with IPv6 {@code UDP
 * [::1]:5353 -> [::1]:53}.
 *
 * <p>Instances are immutable and thread-safe.
 *
 * @param sourceHigh the high 64 bits of the source address
 * @param sourceLow the low 64 bits of the source address
 * @param sourcePort the source port, 0-65535
 * @param destinationHigh the high 64 bits of the destination address
 * @param destinationLow the low 64 bits of the destination address
 * @param destinationPort the destination port, 0-65535
 * @param protocol the protocol
 */
public record FlowKey(
    long sourceHigh,
    long sourceLow,
    int sourcePort,
    long destinationHigh,
    long destinationLow,
    int destinationPort,
    Protocol protocol) {

  /** The low word of an IPv4-mapped IPv6 address before the IPv4 bits: {@code ::ffff:0:0}. */
  private static final long IPV4_MAPPED_PREFIX = 0x0000_FFFF_0000_0000L;

  /**
   * Validates the ports.
   *
   * @param sourceHigh the high 64 bits of the source address
   * @param sourceLow the low 64 bits of the source address
   * @param sourcePort the source port, 0-65535
   * @param destinationHigh the high 64 bits of the destination address
   * @param destinationLow the low 64 bits of the destination address
   * @param destinationPort the destination port, 0-65535
   * @param protocol the protocol
   */
  public FlowKey {
    Checks.range("sourcePort", sourcePort, 0, 65535);
    Checks.range("destinationPort", destinationPort, 0, 65535);
    Checks.notNull(protocol, "protocol");
  }

  /**
   * Returns an IPv4 flow; addresses are the 32 bits in network order ({@code 127.0.0.1} is {@code
   * 0x7f000001}).
   *
   * @param source the source IPv4 address, 32 bits in network order
   * @param sourcePort the source port, 0-65535
   * @param destination the destination IPv4 address, 32 bits in network order
   * @param destinationPort the destination port, 0-65535
   * @param protocol TCP or UDP
   * @return the flow, its addresses held as IPv4-mapped IPv6
   */
  public static FlowKey ipv4(
      int source, int sourcePort, int destination, int destinationPort, Protocol protocol) {
    return new FlowKey(
        0,
        IPV4_MAPPED_PREFIX | (source & 0xFFFF_FFFFL),
        sourcePort,
        0,
        IPV4_MAPPED_PREFIX | (destination & 0xFFFF_FFFFL),
        destinationPort,
        protocol);
  }

  /**
   * Returns an IPv6 flow from the addresses' high and low 64 bits.
   *
   * @param sourceHigh the high 64 bits of the source address
   * @param sourceLow the low 64 bits of the source address
   * @param sourcePort the source port, 0-65535
   * @param destinationHigh the high 64 bits of the destination address
   * @param destinationLow the low 64 bits of the destination address
   * @param destinationPort the destination port, 0-65535
   * @param protocol TCP or UDP
   * @return the flow
   */
  public static FlowKey ipv6(
      long sourceHigh,
      long sourceLow,
      int sourcePort,
      long destinationHigh,
      long destinationLow,
      int destinationPort,
      Protocol protocol) {
    return new FlowKey(
        sourceHigh,
        sourceLow,
        sourcePort,
        destinationHigh,
        destinationLow,
        destinationPort,
        protocol);
  }

  /**
   * Returns the flow from {@code source} to {@code destination}.
   *
   * @param protocol TCP or UDP
   * @param source the resolved source address and port
   * @param destination the resolved destination address and port
   * @return the flow
   * @throws IllegalArgumentException if an address is unresolved
   */
  public static FlowKey of(
      Protocol protocol, InetSocketAddress source, InetSocketAddress destination) {
    Checks.notNull(source, "source");
    Checks.notNull(destination, "destination");
    return of(
        protocol,
        resolved("source", source),
        source.getPort(),
        resolved("destination", destination),
        destination.getPort());
  }

  /**
   * Returns the flow from {@code source}:{@code sourcePort} to the destination.
   *
   * @param protocol TCP or UDP
   * @param source the source address, IPv4 or IPv6
   * @param sourcePort the source port, 0-65535
   * @param destination the destination address, IPv4 or IPv6
   * @param destinationPort the destination port, 0-65535
   * @return the flow
   */
  public static FlowKey of(
      Protocol protocol,
      InetAddress source,
      int sourcePort,
      InetAddress destination,
      int destinationPort) {
    Checks.notNull(source, "source");
    Checks.notNull(destination, "destination");
    byte[] s = source.getAddress();
    byte[] d = destination.getAddress();
    return new FlowKey(high(s), low(s), sourcePort, high(d), low(d), destinationPort, protocol);
  }

  private static InetAddress resolved(String field, InetSocketAddress address) {
    if (address.isUnresolved()) {
      throw new IllegalArgumentException(
          field + ": " + address + " (expected: a resolved address)");
    }
    return address.getAddress();
  }

  /** Returns the high 64 bits of the IPv6 (or IPv4-mapped) form of {@code address}. */
  static long high(byte[] address) {
    return address.length == 4 ? 0 : word(address, 0);
  }

  /** Returns the low 64 bits of the IPv6 (or IPv4-mapped) form of {@code address}. */
  static long low(byte[] address) {
    if (address.length == 4) {
      return IPV4_MAPPED_PREFIX | (word(address, 0) >>> 32);
    }
    return word(address, 8);
  }

  private static long word(byte[] b, int offset) {
    long v = 0;
    for (int i = 0; i < 8; i++) {
      v = (v << 8) | (offset + i < b.length ? b[offset + i] & 0xFF : 0);
    }
    return v;
  }

  /** {@return whether both addresses are IPv4 (IPv4-mapped)} */
  public boolean isIpv4() {
    return isMapped(sourceHigh, sourceLow) && isMapped(destinationHigh, destinationLow);
  }

  private static boolean isMapped(long high, long low) {
    return high == 0 && (low & 0xFFFF_FFFF_0000_0000L) == IPV4_MAPPED_PREFIX;
  }

  /** {@return the source address} It allocates, so it is not for the data path. */
  public InetAddress sourceAddress() {
    return address(sourceHigh, sourceLow);
  }

  /** {@return the destination address} It allocates, so it is not for the data path. */
  public InetAddress destinationAddress() {
    return address(destinationHigh, destinationLow);
  }

  /** {@return the source socket address} It allocates, so it is not for the data path. */
  public InetSocketAddress source() {
    return new InetSocketAddress(sourceAddress(), sourcePort);
  }

  /** {@return the destination socket address} It allocates, so it is not for the data path. */
  public InetSocketAddress destination() {
    return new InetSocketAddress(destinationAddress(), destinationPort);
  }

  /** {@return the flow of the opposite direction, from destination to source} */
  public FlowKey reversed() {
    return new FlowKey(
        destinationHigh,
        destinationLow,
        destinationPort,
        sourceHigh,
        sourceLow,
        sourcePort,
        protocol);
  }

  static InetAddress address(long high, long low) {
    byte[] b = new byte[16];
    for (int i = 0; i < 8; i++) {
      b[i] = (byte) (high >>> (56 - 8 * i));
      b[8 + i] = (byte) (low >>> (56 - 8 * i));
    }
    try {
      return InetAddress.getByAddress(b); // yields an Inet4Address for the IPv4-mapped form
    } catch (UnknownHostException e) {
      throw new AssertionError("16 bytes are always a valid address", e);
    }
  }

  @Override
  public int hashCode() {
    // A cheap multiplicative mix of all fields, for hash maps; flow selection uses FlowHasher.
    long h = sourceHigh * 0x9E3779B97F4A7C15L;
    h = (h ^ sourceLow) * 0x9E3779B97F4A7C15L;
    h = (h ^ destinationHigh) * 0x9E3779B97F4A7C15L;
    h = (h ^ destinationLow) * 0x9E3779B97F4A7C15L;
    h =
        (h ^ (((long) sourcePort << 32) | ((long) destinationPort << 8) | protocol.number()))
            * 0x9E3779B97F4A7C15L;
    return (int) (h ^ (h >>> 32));
  }

  @Override
  public String toString() {
    return protocol
        + " "
        + hostPort(sourceAddress(), sourcePort)
        + " -> "
        + hostPort(destinationAddress(), destinationPort);
  }

  private static String hostPort(InetAddress address, int port) {
    return IpLiteral.format(address, port);
  }
}
