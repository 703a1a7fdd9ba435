package io.lb4j.netty;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.EventLoop;
import java.net.InetAddress;
import java.util.Map;
import java.util.Set;

/**
 * What a connection accepted on a listener needs to know, resolved at start and reload: its rule,
 * frontend, idle behaviour, options and the pool's addresses (to count hairpin connections), and
 * one backend {@link Bootstrap} per event loop, built once and used only on that loop.
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
    Counters frontendCounters,
    Map<EventLoop, Bootstrap> bootstraps) {}
