package io.lb4j.core.hash;

import io.lb4j.DistributionMode;
import io.lb4j.FlowKey;
import io.lb4j.Protocol;

/**
 * Hashes a flow to 64 bits over exactly the fields of its {@link DistributionMode}, with a seed.
 *
 * <p>The hash reads the flow's addresses as 128-bit words (IPv4 in its IPv4-mapped form) and one
 * word packing the mode's ports and protocol:
 *
 * <table>
 *   <caption>Words hashed per mode</caption>
 *   <tr><th>mode</th><th>address words</th><th>last word</th></tr>
 *   <tr><td>FIVE_TUPLE</td><td>source, destination</td>
 *       <td>{@code sourcePort << 40 | destinationPort << 16 | protocol}</td></tr>
 *   <tr><td>SOURCE_IP_PROTOCOL</td><td>source, destination</td><td>{@code protocol}</td></tr>
 *   <tr><td>SOURCE_IP</td><td>source, destination</td><td>{@code 0}</td></tr>
 * </table>
 *
 * <p>When both addresses' high 64 bits are zero (every IPv4 flow) only the low words are hashed,
 * three words in all, which is XXH64 of their 24 little-endian bytes; otherwise five words. The
 * result depends only on the flow, the mode and the seed, so balancers in different processes with
 * the same seed hash alike. Nothing is allocated.
 *
 * <p>Thread-safe.
 */
public final class FlowHasher {

  private FlowHasher() {}

  /**
   * Returns the hash of {@code flow} under {@code mode} with {@code seed}.
   *
   * @param flow the flow's 5-tuple
   * @param mode which fields the hash sees
   * @param seed the balancer's seed
   * @return the 64-bit flow hash
   */
  public static long hash(FlowKey flow, DistributionMode mode, long seed) {
    return hash(
        flow.sourceHigh(),
        flow.sourceLow(),
        flow.sourcePort(),
        flow.destinationHigh(),
        flow.destinationLow(),
        flow.destinationPort(),
        flow.protocol(),
        mode,
        seed);
  }

  /**
   * Returns the hash of an IPv4 flow given as primitives, equal to the {@link FlowKey} form.
   *
   * @param source the source IPv4 address, 32 bits in network order
   * @param sourcePort the source port
   * @param destination the destination IPv4 address, 32 bits in network order
   * @param destinationPort the destination port
   * @param protocol TCP or UDP
   * @param mode which fields the hash sees
   * @param seed the balancer's seed
   * @return the 64-bit flow hash
   */
  public static long hashIpv4(
      int source,
      int sourcePort,
      int destination,
      int destinationPort,
      Protocol protocol,
      DistributionMode mode,
      long seed) {
    return Hash64.hashWords(
        seed,
        0x0000_FFFF_0000_0000L | (source & 0xFFFF_FFFFL),
        0x0000_FFFF_0000_0000L | (destination & 0xFFFF_FFFFL),
        lastWord(sourcePort, destinationPort, protocol, mode));
  }

  /**
   * Returns the hash of a flow given as primitives, equal to the {@link FlowKey} form.
   *
   * @param sourceHigh the high 64 bits of the source address
   * @param sourceLow the low 64 bits of the source address
   * @param sourcePort the source port
   * @param destinationHigh the high 64 bits of the destination address
   * @param destinationLow the low 64 bits of the destination address
   * @param destinationPort the destination port
   * @param protocol TCP or UDP
   * @param mode which fields the hash sees
   * @param seed the balancer's seed
   * @return the 64-bit flow hash
   */
  public static long hash(
      long sourceHigh,
      long sourceLow,
      int sourcePort,
      long destinationHigh,
      long destinationLow,
      int destinationPort,
      Protocol protocol,
      DistributionMode mode,
      long seed) {
    long last = lastWord(sourcePort, destinationPort, protocol, mode);
    if ((sourceHigh | destinationHigh) == 0) {
      return Hash64.hashWords(seed, sourceLow, destinationLow, last);
    }
    return Hash64.hashWords(seed, sourceHigh, sourceLow, destinationHigh, destinationLow, last);
  }

  private static long lastWord(
      int sourcePort, int destinationPort, Protocol protocol, DistributionMode mode) {
    switch (mode) {
      case FIVE_TUPLE:
        return (long) sourcePort << 40 | (long) destinationPort << 16 | protocol.number();
      case SOURCE_IP_PROTOCOL:
        return protocol.number();
      case SOURCE_IP:
        return 0;
      default:
        throw new AssertionError(mode);
    }
  }
}
