/**
 * Membership from where services live: the {@link io.lb4j.discovery.MembershipSource} SPI that DNS,
 * xDS and Kubernetes sources implement, the {@link io.lb4j.discovery.Member}s they publish, and the
 * status a balancer reports of each. See {@code docs/discovery.md}.
 */
package io.lb4j.discovery;
