package io.lb4j.netty;

import java.net.InetSocketAddress;

/**
 * The user event {@link ProxyProtocolDecoder} fires once a PROXY header is read: the client's real
 * address and the address it connected to, as the upstream balancer saw them, or {@link #LOCAL}
 * when the connection's own addresses stand.
 *
 * <p>Instances are immutable and thread-safe.
 *
 * @param source the client's address, or null for the connection's own
 * @param destination the address the client connected to, or null for the connection's own
 */
record ProxiedAddresses(InetSocketAddress source, InetSocketAddress destination) {

  /** The header carried no addresses (v2 {@code LOCAL}, v1 {@code UNKNOWN}): keep the socket's. */
  static final ProxiedAddresses LOCAL = new ProxiedAddresses(null, null);
}
