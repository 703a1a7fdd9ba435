package io.lb4j.dns;

/**
 * What a {@link DnsMembershipSource} asks of DNS, and so what becomes a member.
 *
 * <p>Immutable and thread-safe.
 */
public enum DnsRecordType {
  /** The name's IPv4 addresses: each one a member at the configured port. */
  A,
  /** The name's IPv6 addresses: each one a member at the configured port. */
  AAAA,
  /**
   * Both: {@code A} and {@code AAAA} asked one after the other, every address of either a member at
   * the configured port. One family may have no records (NODATA) as long as the other has some.
   */
  A_AAAA,
  /**
   * The name's SRV records (RFC 2782): every address of every target in the lowest-numbered
   * priority tier that has one, a member at the record's port; the record's weight is the target
   * host's, shared among its addresses.
   */
  SRV
}
