package io.lb4j;

import java.time.Duration;

/**
 * A rule: a frontend address, protocol and port whose flows go to a backend pool. Sealed over its
 * two kinds, so a {@code switch} over a rule names both:
 *
 * <ul>
 *   <li>{@link LoadBalancingRule}: spreads flows over the healthy backends of the pool;
 *   <li>{@link InboundNatRule}: sends every flow to one named backend of the pool (server 2's SSH
 *       through the balancer).
 * </ul>
 *
 * <p>Implementations are immutable and thread-safe.
 */
public sealed interface Rule permits LoadBalancingRule, InboundNatRule {

  /** {@return the rule's name, unique in a configuration} */
  String name();

  /** {@return the name of the frontend the rule listens on} */
  String frontend();

  /** {@return the protocol the rule listens for} */
  Protocol protocol();

  /** {@return the port the rule listens on, 1-65535} */
  int frontendPort();

  /** {@return the name of the pool the rule's backends are in} */
  String backendPool();

  /** {@return the port flows are sent to on the backend, 1-65535} */
  int backendPort();

  /** {@return how long a flow may be idle before it is forgotten} */
  Duration idleTimeout();

  /** {@return whether a flow that idles out is reset (RST to both sides)} */
  boolean tcpReset();

  /** {@return "load-balancing rule" or "inbound NAT rule", for messages} */
  default String kind() {
    return this instanceof InboundNatRule ? "inbound NAT rule" : "load-balancing rule";
  }
}
