package io.lb4j.proxy;

import io.lb4j.LoadBalancerConfig;
import io.lb4j.netty.FrontendOptions;
import io.lb4j.netty.RuleOptions;
import io.lb4j.netty.Transport;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;

/**
 * A standalone proxy's whole configuration, as read from its YAML file by {@link ConfigLoader}: the
 * balancer's model plus what only the proxy needs.
 *
 * <p>Instances are immutable and thread-safe.
 *
 * @param loadBalancer frontends, pools, probes and rules
 * @param frontendOptions per frontend: PROXY header accepted, connection limit, source filters
 * @param ruleOptions per rule: PROXY header sent, connect timeout and attempts
 * @param admin where the admin HTTP endpoint listens and who may use it, or null for none
 * @param shutdownDrain how long established connections may take to finish on SIGTERM
 * @param ioThreads event loops
 * @param transport I/O transport
 * @param reusePort with several I/O threads, one listening socket per event loop ({@code
 *     SO_REUSEPORT}) where the transport has it
 * @param seed the flow-hash seed
 * @param discovery per pool with a membership source other than {@code static}: its {@code
 *     discovery:} block; pools absent here take their members from the file's {@code backends}
 * @param logging levels and the connection log ({@code logging:}), applied at start and reload
 */
public record ProxyConfig(
    LoadBalancerConfig loadBalancer,
    Map<String, FrontendOptions> frontendOptions,
    Map<String, RuleOptions> ruleOptions,
    AdminOptions admin,
    Duration shutdownDrain,
    int ioThreads,
    Transport transport,
    boolean reusePort,
    long seed,
    Map<String, PoolDiscovery> discovery,
    LoggingOptions logging) {

  /** Copies the maps. */
  public ProxyConfig {
    Objects.requireNonNull(loadBalancer, "loadBalancer");
    frontendOptions = Map.copyOf(frontendOptions);
    ruleOptions = Map.copyOf(ruleOptions);
    Objects.requireNonNull(shutdownDrain, "shutdownDrain");
    Objects.requireNonNull(transport, "transport");
    discovery = Map.copyOf(discovery);
    Objects.requireNonNull(logging, "logging");
  }
}
