package io.lb4j.netty;

import java.net.InetAddress;
import java.util.Set;

/**
 * What a connection accepted on a listener needs to know, resolved at start and reload: its rule,
 * frontend, idle behaviour, options and the pool's addresses (to count hairpin connections).
 */
record Route(
    String rule,
    String frontend,
    long idleTimeoutNanos,
    boolean tcpReset,
    RuleOptions options,
    FrontendOptions frontendOptions,
    Set<InetAddress> poolAddresses,
    Counters ruleCounters,
    Counters frontendCounters) {}
