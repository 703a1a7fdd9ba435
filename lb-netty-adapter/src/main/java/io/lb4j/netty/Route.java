package io.lb4j.netty;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.EventLoop;
import java.net.InetAddress;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentMap;
import java.util.function.Function;

/**
 * What a connection accepted on a listener needs to know, resolved at start and reload so that a
 * connection looks up nothing by name: its rule, frontend, idle behaviour, options, connect retry
 * policy and the pool's addresses (to count hairpin connections); the counters of its rule, its
 * frontend and each backend of its pool; and one backend {@link Bootstrap} per event loop, built
 * once and used only on that loop.
 *
 * <p>Immutable (the maps are the proxy's, updated in place) and thread-safe.
 *
 * @param idleReason why an idle connection ends, for the log ({@code idle for 4m}), built once
 * @param refusals the rule's refusals by reason, with the last refused clients
 * @param backendCounters the counters of the rule's backends by backend id: the proxy's own map for
 *     the rule, holding every backend of the pool when the route was built; a backend added at run
 *     time gets its counters on its first connection
 * @param sources the rule's source addresses, or null when the kernel picks the source
 */
record Route(
    String rule,
    String frontend,
    long idleTimeoutNanos,
    String idleReason,
    boolean tcpReset,
    RuleOptions options,
    ConnectRetryPolicy retry,
    FrontendOptions frontendOptions,
    Set<InetAddress> poolAddresses,
    Counters ruleCounters,
    Counters frontendCounters,
    Refusals refusals,
    ConcurrentMap<String, Counters> backendCounters,
    Map<EventLoop, Bootstrap> bootstraps,
    SourcePorts.Picker sources) {

  static final Function<String, Counters> NEW_COUNTERS = id -> new Counters();

  /** Returns the counters of backend {@code id}: one lookup of the id, no allocation. */
  Counters backend(String id) {
    Counters c = backendCounters.get(id);
    return c != null ? c : backendCounters.computeIfAbsent(id, NEW_COUNTERS);
  }
}
