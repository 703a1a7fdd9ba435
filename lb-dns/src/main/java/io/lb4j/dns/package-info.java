/**
 * A pool's members from DNS: {@link io.lb4j.dns.DnsMembershipSource} keeps them equal to a name's
 * A/AAAA or SRV records, re-resolved at the records' TTL within a floor and a cap, from the
 * resolver it is given; {@link io.lb4j.dns.DnsMembershipSourceProvider} makes one from a
 * configuration block ({@code discovery: {type: dns, ...}}). See {@code docs/discovery.md}.
 */
package io.lb4j.dns;
