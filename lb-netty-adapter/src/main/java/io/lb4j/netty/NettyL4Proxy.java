package io.lb4j.netty;

import io.lb4j.Backend;
import io.lb4j.Diagnosis;
import io.lb4j.Durations;
import io.lb4j.Finding;
import io.lb4j.FlowExplanation;
import io.lb4j.FlowKey;
import io.lb4j.Frontend;
import io.lb4j.IpLiteral;
import io.lb4j.LoadBalancer;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancerListener;
import io.lb4j.LoadBalancingRule;
import io.lb4j.Protocol;
import io.lb4j.Rule;
import io.lb4j.Selection;
import io.lb4j.spi.Ticker;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.EventExecutor;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A TCP NAT proxy over a {@link LoadBalancer} (such as {@code io.lb4j.core.L4LoadBalancer}): for
 * every load-balancing and inbound NAT rule it listens on the frontend's address and port, and
 * relays each accepted connection to the backend the balancer selects.
 *
 * <pre>{@code
 * try (NettyL4Proxy proxy = NettyL4Proxy.builder().loadBalancer(lb).build().start()) {
 *   ...
 * }
 * }</pre>
 *
 * <p>A user-space proxy terminates the client's connection and opens a second one to the backend,
 * so the backend sees the proxy as the source: send the PROXY protocol header ({@link
 * RuleOptions#sendProxyProtocol()}) to tell it the client's address. Floating IP (direct server
 * return) needs the kernel's help and is refused at {@link #start()}; so are UDP rules, which this
 * proxy does not carry.
 *
 * <p>Connections of a backend that leaves rotation keep going (or end at the rule's drain timeout,
 * per the balancer's policy); a backend {@code DISABLED} by the operator loses them within a second
 * of activity. Events run on Netty event loops: io_uring where it loads, else epoll, else NIO
 * ({@link Transport#AUTO}). With several loops every loop accepts on its own listening socket
 * ({@code SO_REUSEPORT}, see {@link Builder#reusePort(boolean)}), and a connection stays on the
 * loop that accepted it.
 *
 * <p>At about 550 lines it is the proxy's lifecycle (start, reload, drain, close) and its
 * listeners, routes and counters; the connection itself lives in the handlers.
 *
 * <p>Thread-safe.
 */
public final class NettyL4Proxy implements AutoCloseable {
  private static final Logger logger = LoggerFactory.getLogger(NettyL4Proxy.class);

  private final LoadBalancer lb;
  private final Transport transport;
  private final EventLoopGroup group;

  /**
   * The transport's {@code SO_REUSEPORT} when every event loop accepts on its own socket, or null
   * for one listening socket per rule (one loop, the option off, or a transport without it).
   */
  private final ChannelOption<Boolean> reusePort;

  private final int acceptorsPerListener;

  private final Object lock = new Object();
  private final Map<String, Counters> ruleCounters = new ConcurrentHashMap<>();
  private final Map<String, Counters> frontendCounters = new ConcurrentHashMap<>();

  /** By rule, then by backend id: a route holds its rule's map, so a connection names nothing. */
  private final Map<String, ConcurrentMap<String, Counters>> backendCounters =
      new ConcurrentHashMap<>();

  private final Map<FlowKey, ProxyFrontendHandler> connections = new ConcurrentHashMap<>();

  /** By rule: what its frontend refused. */
  private final Map<String, Refusals> refusals = new ConcurrentHashMap<>();

  /**
   * The proxy's own checks, run by {@link #diagnose()} after the balancer's: one line per check.
   */
  private static final List<ProxyCheck> CHECKS = List.of(new ClientsRefusedCheck());

  private final Ticker ticker;
  private final InstantSource clock;

  /** Backend connections by backend address and port and local source address. */
  private final SourcePorts sourcePorts;

  // guarded by lock
  private Map<String, FrontendOptions> frontendOptions;
  private Map<String, RuleOptions> ruleOptions;
  private final Map<String, Listener> listeners = new LinkedHashMap<>();
  private boolean started;
  private boolean closed;

  private volatile Map<String, Route> routes = Map.of();

  private static final ConnectionListener[] NO_LISTENERS = {};

  /** Copied on write: a connection reads it once, at its end, and allocates nothing for it. */
  private volatile ConnectionListener[] connectionListeners = NO_LISTENERS;

  /** Limits the warnings about listeners that throw. */
  private final LogLimiter listenerFailures = new LogLimiter();

  private NettyL4Proxy(Builder b) {
    this.lb = b.lb;
    this.ticker = b.ticker;
    this.clock = b.clock;
    this.transport = b.transport.resolve();
    this.frontendOptions = Map.copyOf(b.frontendOptions);
    this.ruleOptions = Map.copyOf(b.ruleOptions);
    this.group = transport.newGroup(b.ioThreads, "lb4j-proxy");
    this.reusePort = b.reusePort && b.ioThreads > 1 ? transport.reusePort() : null;
    this.acceptorsPerListener = reusePort == null ? 1 : b.ioThreads;
    boolean portPerTarget = transport.bindAddressNoPort() != null;
    this.sourcePorts =
        b.localPortLow == 0
            ? SourcePorts.ofKernel(portPerTarget)
            : new SourcePorts(
                b.localPortLow, b.localPortHigh, "the range given to the builder", portPerTarget);
  }

  /** {@return a builder with the defaults; the balancer must be set} */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Binds every rule's listener and starts proxying; returns this proxy.
   *
   * @return this proxy, listening on every rule's port
   * @throws IllegalStateException if a rule asks for floating IP or UDP, an option names an unknown
   *     frontend or rule, or a listener cannot bind (the message says which and why)
   */
  public NettyL4Proxy start() {
    synchronized (lock) {
      if (started || closed) {
        throw new IllegalStateException(
            "proxy: " + (closed ? "closed" : "started") + " (expected: new)");
      }
      LoadBalancerConfig config = lb.config();
      check(config, frontendOptions, ruleOptions);
      lb.addListener(
          new LoadBalancerListener() {
            @Override
            public void onFlowsEnded(
                String rule, String backendId, List<FlowKey> flows, String reason) {
              for (FlowKey f : flows) {
                ProxyFrontendHandler h = connections.get(f);
                if (h != null) {
                  logger.debug("closing {} of {}/{}: {}", f, rule, backendId, reason);
                  h.inbound()
                      .eventLoop()
                      .execute(() -> h.end(false, reason, Termination.ENDED_BY_BALANCER));
                }
              }
            }
          });
      try {
        bindAll(config);
      } catch (RuntimeException e) {
        closeListeners(listeners.keySet());
        throw e;
      }
      beginRefusalEpisodes(config, frontendOptions);
      started = true;
      logger.info(
          "proxy started on {} ({} transport, {})",
          listeners.values(),
          transport,
          acceptorsPerListener == 1
              ? "one socket per rule"
              : acceptorsPerListener + " sockets per rule with SO_REUSEPORT");
      return this;
    }
  }

  /**
   * Applies a new configuration without dropping established connections: the balancer is
   * reconfigured, listeners of rules that are gone stop accepting, new ones bind, and new
   * connections use the new options. An invalid configuration changes nothing.
   *
   * @param config the new configuration
   * @param frontends the options of each frontend, by frontend name; a frontend not named gets
   *     {@link FrontendOptions#DEFAULT}
   * @param rules the options of each rule, by rule name; a rule not named gets {@link
   *     RuleOptions#DEFAULT}
   * @throws IllegalStateException if the new configuration is refused, with the reason; the old one
   *     stays in force
   */
  public void reload(
      LoadBalancerConfig config,
      Map<String, FrontendOptions> frontends,
      Map<String, RuleOptions> rules) {
    synchronized (lock) {
      if (!started || closed) {
        throw new IllegalStateException("proxy: not running (expected: started)");
      }
      check(config, frontends, rules);
      Map<String, Listener> wanted = wantedListeners(config);
      Set<String> stale = new HashSet<>();
      for (Map.Entry<String, Listener> e : listeners.entrySet()) {
        Listener w = wanted.get(e.getKey());
        if (w == null || !w.address.equals(e.getValue().address)) {
          stale.add(e.getKey());
        }
      }
      // bind every new or moved listener first: a bind failure leaves everything as it was
      Map<String, Listener> bound = new LinkedHashMap<>();
      Map<String, Route> nextRoutes = routes(config, frontends, rules);
      Map<String, Route> previous = routes;
      routes = merge(previous, nextRoutes); // new listeners may accept before the swap below
      try {
        for (Map.Entry<String, Listener> e : wanted.entrySet()) {
          if (!listeners.containsKey(e.getKey()) || stale.contains(e.getKey())) {
            bound.put(e.getKey(), bind(e.getValue()));
          }
        }
      } catch (RuntimeException e) {
        for (Listener l : bound.values()) {
          l.acceptors.close();
        }
        routes = previous;
        throw e;
      }
      closeListeners(stale); // only now: established connections on them go on
      listeners.putAll(bound);
      lb.reconfigure(config);
      this.frontendOptions = Map.copyOf(frontends);
      this.ruleOptions = Map.copyOf(rules);
      routes = nextRoutes;
      beginRefusalEpisodes(config, frontends);
      sourcePorts.retain(nextRoutes.keySet());
      logger.info("proxy reloaded: listening on {}", listeners.values());
    }
  }

  private static Map<String, Route> merge(Map<String, Route> a, Map<String, Route> b) {
    Map<String, Route> m = new HashMap<>(a);
    m.putAll(b);
    return m;
  }

  /**
   * Stops accepting, waits up to {@code drain} for established connections to finish, then closes
   * the rest and releases the event loops. Returns the number of connections closed by force.
   *
   * @param drain how long established connections may take to finish
   * @return the number of connections closed by force; 0 when the proxy was already shut down
   */
  public int shutdown(Duration drain) {
    synchronized (lock) {
      if (closed) {
        return 0;
      }
      closed = true;
      closeListeners(new HashSet<>(listeners.keySet()));
    }
    return drain(drain);
  }

  /** Stops accepting new connections; established ones go on. Idempotent. */
  public void stopAccepting() {
    synchronized (lock) {
      closeListeners(new HashSet<>(listeners.keySet()));
    }
  }

  private int drain(Duration drain) {
    long deadline = System.nanoTime() + drain.toNanos();
    while (!connections.isEmpty() && System.nanoTime() < deadline) {
      try {
        TimeUnit.MILLISECONDS.sleep(
            Math.min(50, Math.max(1, (deadline - System.nanoTime()) / 1_000_000)));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    int forced = connections.size();
    for (ProxyFrontendHandler h : connections.values()) {
      h.inbound()
          .eventLoop()
          .execute(() -> h.end(false, "shutdown drain deadline", Termination.KILLED)); // both sides
    }
    group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    logger.info("proxy stopped; {} connections closed at the drain deadline", forced);
    return forced;
  }

  /** Closes at once: {@code shutdown(Duration.ZERO)}. */
  @Override
  public void close() {
    shutdown(Duration.ZERO);
  }

  /** {@return the addresses the proxy listens on, by rule name} */
  public Map<String, InetSocketAddress> listeners() {
    synchronized (lock) {
      Map<String, InetSocketAddress> out = new LinkedHashMap<>();
      for (Map.Entry<String, Listener> e : listeners.entrySet()) {
        out.put(e.getKey(), e.getValue().acceptors.localAddress());
      }
      return out;
    }
  }

  /**
   * Returns the counters of rule {@code rule} (all zero for an unknown rule).
   *
   * @param rule a rule's name
   * @return the rule's connections, bytes and failures since the start
   */
  public Counters.Snapshot ruleCounters(String rule) {
    return ruleCounters.computeIfAbsent(rule, r -> new Counters()).snapshot();
  }

  /**
   * Returns the counters of backend {@code backendId} in rule {@code rule}.
   *
   * @param rule a rule's name
   * @param backendId the id of a backend of the rule's pool
   * @return the backend's connections, bytes and failures in the rule since the start; all zero for
   *     a backend that never had a connection
   */
  public Counters.Snapshot backendSnapshot(String rule, String backendId) {
    return backendCounters(rule).computeIfAbsent(backendId, Route.NEW_COUNTERS).snapshot();
  }

  /**
   * Returns the counters of frontend {@code frontend}.
   *
   * @param frontend a frontend's name
   * @return the frontend's connections, bytes and failures since the start; all zero for an unknown
   *     frontend
   */
  public Counters.Snapshot frontendCounters(String frontend) {
    return frontendCounters.computeIfAbsent(frontend, f -> new Counters()).snapshot();
  }

  /** {@return the number of connections open now} */
  public int activeConnections() {
    return connections.size();
  }

  /**
   * Adds {@code listener}, which from now on hears of every backend connect that succeeds and every
   * client connection that ends, on the connection's event loop (see {@link ConnectionListener}).
   *
   * @param listener the listener; not null
   */
  public void addConnectionListener(ConnectionListener listener) {
    Objects.requireNonNull(listener, "listener");
    synchronized (lock) {
      ConnectionListener[] now = connectionListeners;
      ConnectionListener[] next = Arrays.copyOf(now, now.length + 1);
      next[now.length] = listener;
      connectionListeners = next;
    }
  }

  ConnectionListener[] connectionListeners() {
    return connectionListeners;
  }

  /** Logs that {@code listener} threw {@code e}: at most one line per 10 s. */
  void listenerFailed(ConnectionListener listener, RuntimeException e) {
    long suppressed = listenerFailures.pass(System.nanoTime());
    if (suppressed >= 0) {
      logger.warn(
          "connection listener {} threw {}{}",
          listener,
          e.toString(),
          suppressed == 0 ? "" : " (" + suppressed + " more suppressed)");
    }
  }

  /** {@return the balancer behind this proxy} */
  public LoadBalancer loadBalancer() {
    return lb;
  }

  /** Returns the event loops, for servers that share them (the admin endpoint). */
  EventLoopGroup eventLoops() {
    return group;
  }

  /**
   * Returns a future that completes once every event loop of the proxy has run a task submitted
   * now, and fails once the loops are shut down. A loop that is stuck — a handler that blocks or
   * spins — leaves it pending until the loop runs again: a watchdog that pings only when it
   * completes (the standalone proxy's systemd {@code WATCHDOG=1}) stops pinging while the proxy
   * cannot serve. Not for the data path: it allocates a task per loop.
   *
   * @return a future completed once every loop ran a task submitted now
   */
  public CompletableFuture<Void> eventLoopsAnswer() {
    List<CompletableFuture<?>> answers = new ArrayList<>();
    for (EventExecutor loop : group) {
      CompletableFuture<Void> answer = new CompletableFuture<>();
      try {
        loop.execute(() -> answer.complete(null));
      } catch (RejectedExecutionException shutDown) {
        answer.completeExceptionally(shutDown);
      }
      answers.add(answer);
    }
    return CompletableFuture.allOf(answers.toArray(new CompletableFuture<?>[0]));
  }

  /** {@return the transport in use: EPOLL, IO_URING or NIO} */
  public Transport transport() {
    return transport;
  }

  /**
   * Returns how many listening sockets each rule has: one per event loop when they accept with
   * {@code SO_REUSEPORT} ({@link Builder#reusePort(boolean)}), else 1.
   *
   * @return the I/O threads with {@code SO_REUSEPORT}; 1 with one thread, the option off, or a
   *     transport without it
   */
  public int acceptorsPerListener() {
    return acceptorsPerListener;
  }

  /** Returns the listening channels of rule {@code rule}, empty when it does not listen. */
  List<Channel> serverChannels(String rule) {
    synchronized (lock) {
      Listener l = listeners.get(rule);
      return l == null ? List.of() : l.acceptors.channels();
    }
  }

  private ConcurrentMap<String, Counters> backendCounters(String rule) {
    return backendCounters.computeIfAbsent(rule, r -> new ConcurrentHashMap<>());
  }

  Route route(String rule) {
    return routes.get(rule);
  }

  SourcePorts sourcePorts() {
    return sourcePorts;
  }

  /**
   * Returns the {@link Finding.Check#SOURCE_PORTS_EXHAUSTING} findings now: rules whose connections
   * to one backend address and port use up the source ports available to them, or fail for want of
   * one. For {@code diagnose()} to merge with the balancer's.
   */
  List<Finding> sourcePortFindings() {
    return SourcePortCheck.findings(sourcePorts, routes);
  }

  void register(FlowKey flow, ProxyFrontendHandler handler) {
    connections.put(flow, handler);
  }

  void unregister(FlowKey flow, ProxyFrontendHandler handler) {
    connections.remove(flow, handler);
  }

  /** The handlers of the connections open now, for tests. */
  java.util.Collection<ProxyFrontendHandler> connectionHandlers() {
    return connections.values();
  }

  // ---------------------------------------------------------------- listeners

  /** A rule's listening sockets. */
  private static final class Listener {
    final String rule;
    final InetSocketAddress address;
    Acceptors acceptors;

    Listener(String rule, InetSocketAddress address) {
      this.rule = rule;
      this.address = address;
    }

    @Override
    public String toString() {
      return rule + "@" + (acceptors != null ? acceptors : IpLiteral.format(address));
    }
  }

  private void bindAll(LoadBalancerConfig config) {
    routes = routes(config, frontendOptions, ruleOptions);
    for (Map.Entry<String, Listener> e : wantedListeners(config).entrySet()) {
      listeners.put(e.getKey(), bind(e.getValue()));
    }
  }

  private Map<String, Listener> wantedListeners(LoadBalancerConfig config) {
    Map<String, Listener> out = new LinkedHashMap<>();
    for (Rule r : config.rules()) {
      out.put(
          r.name(),
          new Listener(
              r.name(),
              new InetSocketAddress(config.frontend(r.frontend()).address(), r.frontendPort())));
    }
    return out;
  }

  private Listener bind(Listener l) {
    l.acceptors =
        Acceptors.bind(
            l.rule, l.address, transport, group, reusePort, new ProxyInitializer(this, l.rule));
    return l;
  }

  private void closeListeners(Set<String> names) {
    for (String name : names) {
      Listener l = listeners.remove(name);
      if (l != null && l.acceptors != null) {
        l.acceptors.close();
      }
    }
  }

  private Map<String, Route> routes(
      LoadBalancerConfig config,
      Map<String, FrontendOptions> frontends,
      Map<String, RuleOptions> rules) {
    Map<String, Route> out = new HashMap<>();
    for (Rule r : config.rules()) {
      Set<InetAddress> addresses = new HashSet<>();
      ConcurrentMap<String, Counters> perBackend = backendCounters(r.name());
      for (Backend b : config.pool(r.backendPool()).backends()) {
        addresses.add(b.address());
        perBackend.computeIfAbsent(b.id(), Route.NEW_COUNTERS); // resolved here, not per connection
      }
      RuleOptions options = rules.getOrDefault(r.name(), RuleOptions.DEFAULT);
      checkSourceAddresses(r.name(), options.sourceAddresses());
      out.put(
          r.name(),
          new Route(
              r.name(),
              r.frontend(),
              r.idleTimeout().toNanos(),
              "idle for " + Durations.format(r.idleTimeout()),
              r.tcpReset(),
              options,
              ConnectRetryPolicy.maxAttempts(options.maxConnectAttempts()),
              frontends.getOrDefault(r.frontend(), FrontendOptions.DEFAULT),
              Set.copyOf(addresses),
              ruleCounters.computeIfAbsent(r.name(), k -> new Counters()),
              frontendCounters.computeIfAbsent(r.frontend(), k -> new Counters()),
              refusals.computeIfAbsent(
                  r.name(),
                  k ->
                      new Refusals(
                          r.name(),
                          ticker,
                          clock,
                          r.frontend(),
                          frontends.getOrDefault(r.frontend(), FrontendOptions.DEFAULT))),
              perBackend,
              new ConcurrentHashMap<>(),
              options.sourceAddresses().isEmpty()
                  ? null
                  : new SourcePorts.Picker(options.sourceAddresses(), sourcePorts)));
    }
    return out;
  }

  /**
   * Begins a new refusal episode for every rule whose frontend or frontend options changed: a fix
   * applied by reload starts from zero. Called once the options are in force.
   */
  private void beginRefusalEpisodes(
      LoadBalancerConfig config, Map<String, FrontendOptions> frontends) {
    for (Rule r : config.rules()) {
      Refusals rf = refusals.get(r.name());
      if (rf != null) {
        rf.options(r.frontend(), frontends.getOrDefault(r.frontend(), FrontendOptions.DEFAULT));
      }
    }
  }

  /**
   * Refuses a source address that is not an address of this host: bound once to port 0 and closed,
   * so that a connect's {@code EADDRNOTAVAIL} later means a port, never the address.
   */
  private static void checkSourceAddresses(String rule, List<SourceAddress> sources) {
    for (int i = 0; i < sources.size(); i++) {
      SourceAddress s = sources.get(i);
      try (Socket probe = new Socket()) {
        probe.bind(new InetSocketAddress(s.address(), 0));
      } catch (IOException e) {
        throw new IllegalStateException(
            "rule '"
                + rule
                + "': sourceAddresses["
                + i
                + "]: '"
                + s
                + "' cannot be bound ("
                + e.getMessage()
                + "; expected: an address of this host)",
            e);
      }
    }
  }

  // ---------------------------------------------------------------- diagnostics

  /**
   * Returns the balancer's {@link LoadBalancer#diagnose() diagnosis} with the proxy's own findings
   * added, worst first: {@link Finding.Check#CLIENTS_REFUSED} for a rule whose frontend refuses
   * clients (deny or allow list, connection limit, PROXY header, no backend), with the counts by
   * reason, the network or limit that refused them, the recent sources and a fix.
   *
   * <p>Refusals are counted per episode: from the start, or from the reload that changed the rule's
   * frontend options, so a fix applied by reload clears the finding; an episode is reported while
   * its last refusal is at most 10 minutes old.
   *
   * <p>Blocks as the balancer's does (it connects to backends): not for an event loop.
   *
   * @return the findings, worst first
   */
  public Diagnosis diagnose() {
    Diagnosis balancer = lb.diagnose();
    ProxyView view = new ProxyView(lb.config(), routes, balancer, ticker.read());
    List<Finding> findings = new ArrayList<>(balancer.findings());
    int checks = balancer.checksRun();
    for (int i = 0; i < CHECKS.size(); i++) {
      checks += CHECKS.get(i).run(view, findings);
    }
    findings.addAll(sourcePortFindings()); // SOURCE_PORTS_EXHAUSTING: one check per rule
    checks += view.routes().size();
    return new Diagnosis(balancer.at(), checks, findings);
  }

  /**
   * Returns where {@code flow} goes and why: when the frontend of the rule it reaches would refuse
   * its source now (a deny network holds it, the allow list leaves it out, or the connection limit
   * is reached), that refusal, as a {@link Selection.Status#REFUSED_BY_FRONTEND} answer, before
   * anything about backends; otherwise the balancer's {@link LoadBalancer#explain explanation}.
   * Records nothing.
   *
   * @param flow any 5-tuple
   * @return the explanation, never null
   */
  public FlowExplanation explain(FlowKey flow) {
    Objects.requireNonNull(flow, "flow");
    FlowExplanation balancer = lb.explain(flow); // which rule takes the flow: the balancer's say
    LoadBalancerConfig config = lb.config();
    Rule rule = balancer.rule() == null ? null : config.rule(balancer.rule());
    Route route = rule == null ? null : routes.get(rule.name());
    if (route != null) {
      String refusal = refusal(route, flow.sourceAddress());
      if (refusal != null) {
        return FlowExplanation.refusedByFrontend(
            flow,
            rule.name(),
            (rule instanceof LoadBalancingRule ? "load-balancing rule on " : "inbound NAT rule on ")
                + IpLiteral.format(
                    new InetSocketAddress(
                        config.frontend(rule.frontend()).address(), rule.frontendPort()))
                + "/"
                + rule.protocol()
                + " of frontend "
                + rule.frontend(),
            Selection.none(Selection.Status.REFUSED_BY_FRONTEND, rule.name(), refusal));
      }
    }
    return balancer;
  }

  /** Returns the rule the balancer would match {@code flow} to, as its snapshot does, or null. */
  /** Returns why the route's frontend would refuse {@code source} now, or null. */
  private static String refusal(Route route, InetAddress source) {
    FrontendOptions o = route.frontendOptions();
    String of = " of frontend " + route.frontend();
    Cidr denied = o.deniedBy(source);
    if (denied != null) {
      return "refused: " + IpLiteral.format(source) + " matches deny " + denied + of;
    }
    if (!o.allows(source)) {
      return "refused: " + IpLiteral.format(source) + " is not in the allow list " + o.allow() + of;
    }
    long open = route.frontendCounters().active.get();
    if (o.maxConnections() > 0 && open >= o.maxConnections()) {
      return "refused now: frontend "
          + route.frontend()
          + " is at its limit of "
          + o.maxConnections()
          + (o.maxConnections() == 1 ? " connection (" : " connections (")
          + open
          + " open)";
    }
    return null;
  }

  /**
   * Returns what the frontend of rule {@code rule} refused: counts by reason since the start and
   * since its options took effect, and the last refused clients.
   *
   * @param rule a rule's name
   * @return the refusal counts and the last refused clients
   * @throws IllegalArgumentException if the proxy has no such rule
   */
  public Refusals.Snapshot refusals(String rule) {
    Refusals r = refusals.get(rule);
    if (r == null) {
      throw new IllegalArgumentException(
          "rule: '"
              + rule
              + "' (expected: a rule of the proxy, one of "
              + sorted(refusals.keySet())
              + ")");
    }
    return r.snapshot();
  }

  /**
   * Checks, without binding anything, that a proxy can carry {@code config} with these options:
   * refuses what a user-space TCP proxy cannot do (floating IP, UDP rules) and options that name an
   * unknown frontend or rule. {@link #start()} and {@link #reload} run the same check; an
   * application calls it to validate a configuration before it starts one (a {@code --check}).
   *
   * @param config the configuration
   * @param frontends the options of each frontend, by frontend name
   * @param rules the options of each rule, by rule name
   * @throws IllegalStateException naming the rule or option, the value and what was expected
   */
  public static void check(
      LoadBalancerConfig config,
      Map<String, FrontendOptions> frontends,
      Map<String, RuleOptions> rules) {
    Set<String> ruleNames = new HashSet<>();
    for (Rule r : config.rules()) {
      ruleNames.add(r.name());
      if (r instanceof LoadBalancingRule lbr && lbr.floatingIp()) {
        throw new IllegalStateException(
            "rule '"
                + r.name()
                + "': floatingIp: true (expected: false; floating IP, or direct server return,"
                + " needs the kernel to forward packets with the frontend address kept, and a"
                + " user-space proxy terminates every connection instead: run the rule without"
                + " it, and send the PROXY protocol if backends need the client address)");
      }
      if (r.protocol() != Protocol.TCP) {
        throw new IllegalStateException(
            r.kind()
                + " '"
                + r.name()
                + "': protocol: "
                + r.protocol()
                + " (expected: TCP; this proxy carries TCP only)");
      }
    }
    for (String r : rules.keySet()) {
      if (!ruleNames.contains(r)) {
        throw new IllegalStateException(
            "rule options: '" + r + "' is not defined (known rules: " + sorted(ruleNames) + ")");
      }
    }
    Set<String> frontendNames = new HashSet<>();
    for (Frontend f : config.frontends()) {
      frontendNames.add(f.name());
    }
    for (String f : frontends.keySet()) {
      if (!frontendNames.contains(f)) {
        throw new IllegalStateException(
            "frontend options: '"
                + f
                + "' is not defined (known frontends: "
                + sorted(frontendNames)
                + ")");
      }
    }
  }

  private static List<String> sorted(Set<String> names) {
    List<String> out = new ArrayList<>(names);
    out.sort(null);
    return out;
  }

  /**
   * Builds a {@link NettyL4Proxy}.
   *
   * <p>Not thread-safe.
   */
  public static final class Builder {
    private LoadBalancer lb;
    private Transport transport = Transport.AUTO;
    private int ioThreads = Runtime.getRuntime().availableProcessors();
    private final Map<String, FrontendOptions> frontendOptions = new HashMap<>();
    private final Map<String, RuleOptions> ruleOptions = new HashMap<>();
    private Ticker ticker = Ticker.system();
    private InstantSource clock = InstantSource.system();
    private boolean reusePort = true;

    private Builder() {}

    /**
     * Sets the time source that ages refusals for {@link #diagnose()}; the system ticker.
     *
     * @param ticker the time source
     * @return this builder
     */
    public Builder ticker(Ticker ticker) {
      this.ticker = Objects.requireNonNull(ticker, "ticker");
      return this;
    }

    /**
     * Sets the wall clock of refused clients' times; the system clock by default.
     *
     * @param clock the wall clock
     * @return this builder
     */
    public Builder clock(InstantSource clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    private int localPortLow;
    private int localPortHigh;

    /**
     * Sets the ephemeral port range the source-port check assumes instead of the kernel's ({@code
     * net.ipv4.ip_local_port_range}): for tests, which cannot narrow the kernel's.
     */
    Builder localPortRange(int low, int high) {
      new SourcePorts(low, high, "", false); // validates
      this.localPortLow = low;
      this.localPortHigh = high;
      return this;
    }

    /**
     * Sets the balancer; required.
     *
     * @param lb the balancer that picks each connection's backend; the proxy does not close it
     * @return this builder
     */
    public Builder loadBalancer(LoadBalancer lb) {
      this.lb = Objects.requireNonNull(lb, "loadBalancer");
      return this;
    }

    /**
     * Sets the transport; {@link Transport#AUTO} by default.
     *
     * @param transport AUTO (io_uring where it loads, else epoll, else NIO), EPOLL, IO_URING or NIO
     * @return this builder
     */
    public Builder transport(Transport transport) {
      this.transport = Objects.requireNonNull(transport, "transport");
      return this;
    }

    /**
     * Sets the number of event loops; the number of processors by default.
     *
     * @param threads the event loops, 1-1024
     * @return this builder
     */
    public Builder ioThreads(int threads) {
      if (threads < 1 || threads > 1024) {
        throw new IllegalArgumentException("ioThreads: " + threads + " (expected: 1-1024)");
      }
      this.ioThreads = threads;
      return this;
    }

    /**
     * Sets whether, with several I/O threads, every event loop accepts on a listening socket of its
     * own; on by default. On, each rule's address is bound once per event loop with {@code
     * SO_REUSEPORT}, socket i on loop i, and a connection stays on the loop whose socket accepted
     * it: Linux spreads new connections over the sockets by a hash of their addresses and ports,
     * and no single loop accepts for all. Off, or with one thread, or on a transport without the
     * option (NIO off Linux), one socket per rule is accepted by one loop, which hands each
     * connection to the next loop in turn. Either way a port another socket holds (with or without
     * {@code SO_REUSEPORT}) makes {@link NettyL4Proxy#start()} fail; with the option on, a process
     * of the same user that binds the port with {@code SO_REUSEPORT} after the proxy shares its new
     * connections (see docs/proxy.md).
     *
     * @param reusePort true for one listening socket per event loop
     * @return this builder
     */
    public Builder reusePort(boolean reusePort) {
      this.reusePort = reusePort;
      return this;
    }

    /**
     * Sets the options of frontend {@code frontend}; {@link FrontendOptions#DEFAULT} otherwise.
     *
     * @param frontend a frontend's name
     * @param options its options
     * @return this builder
     */
    public Builder frontendOptions(String frontend, FrontendOptions options) {
      frontendOptions.put(
          Objects.requireNonNull(frontend, "frontend"), Objects.requireNonNull(options, "options"));
      return this;
    }

    /**
     * Sets the options of rule {@code rule}; {@link RuleOptions#DEFAULT} otherwise.
     *
     * @param rule a rule's name
     * @param options its options
     * @return this builder
     */
    public Builder ruleOptions(String rule, RuleOptions options) {
      ruleOptions.put(
          Objects.requireNonNull(rule, "rule"), Objects.requireNonNull(options, "options"));
      return this;
    }

    /**
     * Returns the proxy, not started.
     *
     * @return the proxy; {@link NettyL4Proxy#start()} binds it
     * @throws IllegalStateException if no balancer was set
     */
    public NettyL4Proxy build() {
      if (lb == null) {
        throw new IllegalStateException("loadBalancer: not set (expected: a LoadBalancer)");
      }
      return new NettyL4Proxy(this);
    }
  }
}
