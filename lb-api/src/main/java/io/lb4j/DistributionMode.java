package io.lb4j;

/**
 * What the flow hash sees, with exactly Azure Load Balancer's semantics.
 *
 * <table>
 *   <caption>Fields hashed per mode</caption>
 *   <tr><th>mode</th><th>Azure name</th><th>fields</th></tr>
 *   <tr><td>{@link #FIVE_TUPLE}</td><td>None (default)</td>
 *       <td>source IP, source port, destination IP, destination port, protocol</td></tr>
 *   <tr><td>{@link #SOURCE_IP_PROTOCOL}</td><td>Client IP and protocol</td>
 *       <td>source IP, destination IP, protocol</td></tr>
 *   <tr><td>{@link #SOURCE_IP}</td><td>Client IP</td><td>source IP, destination IP</td></tr>
 * </table>
 *
 * <p>The client-IP modes keep every connection of one client on one backend, which protocols that
 * open several connections need (FTP control and data, RD Gateway). They skew the load when there
 * are few clients, or when many clients share one source address behind a proxy or NAT.
 *
 * <p>Instances are immutable and thread-safe.
 */
public enum DistributionMode {
  /** Hash of source IP, source port, destination IP, destination port and protocol. */
  FIVE_TUPLE,
  /** Hash of source IP, destination IP and protocol. */
  SOURCE_IP_PROTOCOL,
  /** Hash of source IP and destination IP. */
  SOURCE_IP
}
