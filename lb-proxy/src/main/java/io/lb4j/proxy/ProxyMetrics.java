package io.lb4j.proxy;

import io.lb4j.AdminState;
import io.lb4j.Backend;
import io.lb4j.BackendHealth;
import io.lb4j.Frontend;
import io.lb4j.HealthState;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancerListener;
import io.lb4j.Rule;
import io.lb4j.discovery.DiscoveryStatus;
import io.lb4j.netty.NettyL4Proxy;
import io.lb4j.netty.RefusalReason;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.BaseUnits;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.ToDoubleFunction;
import java.util.function.ToLongFunction;

/**
 * The proxy's metrics in Prometheus text format, through Micrometer's Prometheus registry. Meters
 * follow the rules and backends of the configuration in force: {@link #scrape()} first adds meters
 * for new rules, backends and frontends and removes those of departed ones, so a reload shows up on
 * the next scrape. Each scrape reads every backend's health once ({@link
 * io.lb4j.LoadBalancer#health}) and its gauges read that snapshot.
 *
 * <p>Names (Prometheus form): per rule and backend {@code lb4j_connections_active}, {@code
 * lb4j_connections_total}, {@code lb4j_relayed_bytes_total{direction="to_backend"|"to_client"}},
 * {@code lb4j_connect_failures_total}, {@code lb4j_source_port_failures_total}, {@code
 * lb4j_resets_total}, {@code lb4j_idle_timeouts_total}, {@code lb4j_backend_healthy} (1 or 0),
 * {@code lb4j_backend_in_rotation} (1 or 0), {@code lb4j_flows_active}, {@code
 * lb4j_backend_weight}, {@code lb4j_backend_admin_state{state}} and {@code
 * lb4j_backend_health_state{state}} (state sets: 1 for the current state, 0 for the others), {@code
 * lb4j_backend_ejected}, and the event-fed meters of {@link BackendEventMeters} (probe attempts,
 * failures by outcome, probe duration histogram, health transitions, ejections); per rule {@code
 * lb4j_refusals_total}, {@code
 * lb4j_frontend_refusals_total{reason="deny_list"|"not_in_allow_list"|"connection_limit"|...}} (one
 * series per {@link RefusalReason}, zero until the first) and {@code
 * lb4j_hairpin_connections_total}, and {@code lb4j_rule_selection_fingerprint{rule,fingerprint}}
 * (1, the fingerprint as a label); per frontend {@code lb4j_frontend_connections_total} and {@code
 * lb4j_frontend_connections_active}; per pool with a membership source {@code
 * lb4j_discovery_state{pool,source,state}} (1 for the current state), {@code
 * lb4j_discovery_members}, {@code lb4j_discovery_last_good_answer_age_seconds}, {@code
 * lb4j_discovery_answers_total{result="applied"|"unchanged"|"refused"}} and {@code
 * lb4j_discovery_failures_total}; {@code lb4j_flow_table_flows}; the connect-time histogram {@code
 * lb4j_backend_connect_seconds{rule,backend}} ({@link ConnectTimeMetrics}); {@code
 * lb4j_build_info{version,java_version}} (1); {@code
 * lb4j_config_reloads_total{result="ok"|"refused"|"failed"}}, {@code
 * lb4j_config_last_reload_successful} and {@code lb4j_config_last_reload_seconds}; and Micrometer's
 * JVM, CPU and uptime meters. {@code docs/metrics.md} describes each.
 *
 * <p>Thread-safe.
 */
final class ProxyMetrics {
  private NettyL4Proxy proxy; // set once by attach(), before any scrape-time meter
  private final PrometheusMeterRegistry registry =
      new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final Map<String, List<Meter>> bySeries = new HashMap<>();
  private final ConnectTimeMetrics connectTimes = new ConnectTimeMetrics(registry);

  private static final String ANSWERS =
      "Answers of the pool's source: applied, unchanged (equal to the pool), refused by the guard";

  /** The sources' statuses as the current scrape reads them, by pool; one read per scrape. */
  private volatile Map<String, DiscoveryStatus> sources = Map.of();

  /** Each backend's configuration and health as the current scrape reads them; one read each. */
  private volatile Map<BackendEventMeters.Key, BackendState> backends = Map.of();

  private final BackendEventMeters events = new BackendEventMeters(registry);

  /** A backend of a rule in one scrape: its record, and its health (null once removed). */
  private record BackendState(Backend backend, BackendHealth health) {}

  /**
   * Meters with reload counts from {@code reloads}. Give {@link #listener()} to the balancer before
   * it starts ({@link io.lb4j.core.L4LoadBalancer.Builder#listener}), so that the first probes are
   * counted, then {@link #attach} the proxy.
   */
  ProxyMetrics(Reloads reloads) {
    new JvmMemoryMetrics().bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    BuildInfo build = BuildInfo.CURRENT;
    Gauge.builder("lb4j.build.info", () -> 1)
        .description("1, with the proxy's version and the Java version running it as labels")
        .tags("version", build.version(), "java_version", build.javaVersion())
        .register(registry);
    reloadMeters(reloads);
  }

  /**
   * Returns meters of {@code proxy} that listen to its balancer from now on (probe results, health
   * changes and ejections before now are not counted), with reload counts from {@code reloads}.
   */
  static ProxyMetrics of(NettyL4Proxy proxy, Reloads reloads) {
    ProxyMetrics m = new ProxyMetrics(reloads);
    proxy.loadBalancer().addListener(m.listener());
    m.attach(proxy);
    return m;
  }

  /** Returns the listener that feeds the event meters: probe results, health changes, ejections. */
  LoadBalancerListener listener() {
    return events;
  }

  /**
   * Adds the meters that read {@code proxy} at each scrape, for its rules, backends and frontends;
   * before the first scrape. Attaching the same proxy again does nothing.
   *
   * @throws IllegalStateException if another proxy is attached already
   */
  synchronized void attach(NettyL4Proxy proxy) {
    if (this.proxy == proxy) {
      return;
    }
    if (this.proxy != null) {
      throw new IllegalStateException(
          "proxy: another one is attached already (expected: one proxy per ProxyMetrics)");
    }
    this.proxy = proxy;
    Gauge.builder("lb4j.flow.table.flows", proxy, p -> p.loadBalancer().activeFlows())
        .description("Flows in the flow table, expired ones until maintenance removes them")
        .register(registry);
    proxy.addConnectionListener(connectTimes); // lb4j_backend_connect_seconds
    refresh(); // every series from the start
  }

  /** Returns the metrics in Prometheus text format, version 0.0.4. */
  synchronized String scrape() {
    if (proxy != null) {
      refresh();
    }
    return registry.scrape();
  }

  /** Stops listening to the attached proxy's balancer. */
  synchronized void close() {
    if (proxy != null) {
      proxy.loadBalancer().removeListener(events);
    }
  }

  /**
   * {@code lb4j_config_reloads_total{result}}, {@code lb4j_config_last_reload_successful} (0 or 1)
   * and {@code lb4j_config_last_reload_seconds} (the last successful load, start or reload, in
   * seconds since the epoch), as Prometheus reports its own reloads.
   */
  private void reloadMeters(Reloads reloads) {
    for (Reloads.Result r : Reloads.Result.values()) {
      FunctionCounter.builder("lb4j.config.reloads", reloads, x -> x.count(r))
          .description("Configuration reloads (file, admin POST /reload, SIGHUP) by result")
          .tags("result", r.name().toLowerCase(Locale.ROOT))
          .register(registry);
    }
    Gauge.builder("lb4j.config.last.reload.successful", reloads, x -> x.lastSuccessful() ? 1 : 0)
        .description("1 when the last reload succeeded (or none was tried since the start), else 0")
        .register(registry);
    Gauge.builder("lb4j.config.last.reload.seconds", reloads, Reloads::lastSuccessEpochSeconds)
        .description("When the configuration was last loaded successfully, start or reload")
        .register(registry);
  }

  private void refresh() {
    LoadBalancerConfig config = proxy.loadBalancer().config();
    Set<String> wanted = new HashSet<>();
    Map<BackendEventMeters.Key, BackendState> states = new HashMap<>();
    for (Rule r : config.rules()) {
      ruleMeters(r.name(), wanted);
      fingerprintMeter(r.name(), wanted);
      for (AdminPages.Target t : AdminPages.targets(config, r)) {
        String id = t.backend().id();
        states.put(
            new BackendEventMeters.Key(r.name(), id),
            new BackendState(t.backend(), health(r.name(), id)));
        backendMeters(r.name(), id, wanted);
        events.ensure(r.name(), id);
      }
    }
    backends = states;
    events.retain(states.keySet());
    for (Frontend f : config.frontends()) {
      frontendMeters(f.name(), wanted);
    }
    Map<String, DiscoveryStatus> now = new HashMap<>();
    for (DiscoveryStatus s : proxy.loadBalancer().discoveries()) {
      now.put(s.pool(), s);
      sourceMeters(s.pool(), s.source(), wanted);
    }
    sources = now;
    connectTimes.refresh(config);
    for (String gone : new ArrayList<>(bySeries.keySet())) {
      if (!wanted.contains(gone)) {
        for (Meter m : bySeries.remove(gone)) {
          registry.remove(m);
        }
      }
    }
  }

  private void ruleMeters(String rule, Set<String> wanted) {
    String key = "rule\0" + rule;
    wanted.add(key);
    if (bySeries.containsKey(key)) {
      return;
    }
    Tags tags = Tags.of("rule", rule);
    List<Meter> meters = new ArrayList<>();
    meters.add(
        counter(
            "lb4j.refusals",
            "Connections refused: source filter, connection limit, no backend, bad PROXY header",
            tags,
            p -> p.ruleCounters(rule).refusals()));
    meters.add(
        counter(
            "lb4j.hairpin.connections",
            "Connections whose client is a backend of the pool it reached",
            tags,
            p -> p.ruleCounters(rule).hairpinConnections()));
    for (RefusalReason reason : RefusalReason.values()) {
      meters.add(
          counter(
              "lb4j.frontend.refusals",
              "Connections the rule's frontend refused, by reason",
              tags.and("reason", BackendEventMeters.lower(reason)),
              p -> p.refusals(rule).total().getOrDefault(reason, 0L)));
    }
    bySeries.put(key, meters);
  }

  /**
   * {@code lb4j_rule_selection_fingerprint{rule,fingerprint} 1}: an info-style series whose label
   * carries the value (as {@code *_info} metrics carry versions), so that {@code count by (rule)
   * (count by (rule, fingerprint) (lb4j_rule_selection_fingerprint))} is 1 when every instance
   * agrees. A new fingerprint replaces the series of the old one at the next scrape.
   */
  private void fingerprintMeter(String rule, Set<String> wanted) {
    String fingerprint = AdminPages.fingerprint(proxy.loadBalancer(), rule);
    String key = "fingerprint\0" + rule + "\0" + fingerprint;
    wanted.add(key);
    if (bySeries.containsKey(key)) {
      return;
    }
    bySeries.put(
        key,
        List.of(
            gauge(
                "lb4j.rule.selection.fingerprint",
                "1, with the fingerprint of the rule's selection (algorithm, parameters, seed,"
                    + " backends in rotation with weights and targets) as a label: equal on every"
                    + " instance that picks the same backend for every flow",
                Tags.of("rule", rule, "fingerprint", fingerprint),
                p -> 1)));
  }

  /**
   * A pool's membership source: {@code lb4j_discovery_state{pool,source,state}} (1 for the state it
   * is in, 0 for the others), {@code lb4j_discovery_members}, {@code
   * lb4j_discovery_last_good_answer_age_seconds}, {@code
   * lb4j_discovery_answers_total{result="applied"|"unchanged"|"refused"}} and {@code
   * lb4j_discovery_failures_total}.
   */
  private void sourceMeters(String pool, String source, Set<String> wanted) {
    String key = "source\0" + pool + "\0" + source;
    wanted.add(key);
    if (bySeries.containsKey(key)) {
      return;
    }
    Tags tags = Tags.of("pool", pool);
    List<Meter> meters = new ArrayList<>();
    for (DiscoveryStatus.State state : DiscoveryStatus.State.values()) {
      meters.add(
          gauge(
              "lb4j.discovery.state",
              "1 for the state the pool's membership source is in, 0 for the others",
              tags.and("source", source, "state", state.name().toLowerCase(Locale.ROOT)),
              p -> status(pool, s -> s.state() == state ? 1 : 0)));
    }
    meters.add(
        gauge(
            "lb4j.discovery.members",
            "Members the pool has from its source now",
            tags,
            p -> status(pool, DiscoveryStatus::members)));
    meters.add(
        Gauge.builder(
                "lb4j.discovery.last.good.answer.age",
                proxy,
                p ->
                    status(
                        pool,
                        s ->
                            s.lastGoodAnswer() == null
                                ? Double.NaN
                                : Duration.between(s.lastGoodAnswer(), Instant.now()).toMillis()
                                    / 1000.0))
            .description("Seconds since the source's last good answer; NaN before the first")
            .baseUnit("seconds")
            .tags(tags)
            .register(registry));
    meters.add(
        FunctionCounter.builder(
                "lb4j.discovery.answers", proxy, p -> status(pool, s -> s.answersApplied()))
            .description(ANSWERS)
            .tags(tags.and("result", "applied"))
            .register(registry));
    meters.add(
        FunctionCounter.builder(
                "lb4j.discovery.answers", proxy, p -> status(pool, s -> s.answersUnchanged()))
            .description(ANSWERS)
            .tags(tags.and("result", "unchanged"))
            .register(registry));
    meters.add(
        FunctionCounter.builder(
                "lb4j.discovery.answers", proxy, p -> status(pool, s -> s.answersRefused()))
            .description(ANSWERS)
            .tags(tags.and("result", "refused"))
            .register(registry));
    meters.add(
        counter(
            "lb4j.discovery.failures",
            "Failures the pool's source reported",
            tags,
            p -> (long) status(pool, s -> s.failures())));
    bySeries.put(key, meters);
  }

  /** Returns {@code value} of pool {@code pool}'s source status in this scrape, or NaN. */
  private double status(String pool, ToDoubleFunction<DiscoveryStatus> value) {
    DiscoveryStatus s = sources.get(pool);
    return s == null ? Double.NaN : value.applyAsDouble(s);
  }

  /** {@code lb4j_frontend_connections_total} and {@code lb4j_frontend_connections_active}. */
  private void frontendMeters(String frontend, Set<String> wanted) {
    String key = "frontend\0" + frontend;
    wanted.add(key);
    if (bySeries.containsKey(key)) {
      return;
    }
    Tags tags = Tags.of("frontend", frontend);
    bySeries.put(
        key,
        List.of(
            counter(
                "lb4j.frontend.connections",
                "Client connections the frontend accepted, refused ones included",
                tags,
                p -> p.frontendCounters(frontend).totalConnections()),
            gauge(
                "lb4j.frontend.connections.active",
                "Client connections open on the frontend now",
                tags,
                p -> p.frontendCounters(frontend).activeConnections())));
  }

  private void backendMeters(String rule, String backend, Set<String> wanted) {
    String key = "backend\0" + rule + "\0" + backend;
    wanted.add(key);
    if (bySeries.containsKey(key)) {
      return;
    }
    Tags tags = Tags.of("rule", rule, "backend", backend);
    List<Meter> meters = new ArrayList<>();
    meters.add(
        gauge(
            "lb4j.connections.active",
            "Proxied connections open now",
            tags,
            p -> p.backendSnapshot(rule, backend).activeConnections()));
    meters.add(
        counter(
            "lb4j.connections",
            "Connections made to the backend",
            tags,
            p -> p.backendSnapshot(rule, backend).totalConnections()));
    meters.add(
        FunctionCounter.builder(
                "lb4j.relayed", proxy, p -> p.backendSnapshot(rule, backend).bytesToBackend())
            .description("Bytes relayed")
            .baseUnit(BaseUnits.BYTES)
            .tags(tags.and("direction", "to_backend"))
            .register(registry));
    meters.add(
        FunctionCounter.builder(
                "lb4j.relayed", proxy, p -> p.backendSnapshot(rule, backend).bytesToClient())
            .description("Bytes relayed")
            .baseUnit(BaseUnits.BYTES)
            .tags(tags.and("direction", "to_client"))
            .register(registry));
    meters.add(
        counter(
            "lb4j.connect.failures",
            "Connects to the backend that failed",
            tags,
            p -> p.backendSnapshot(rule, backend).connectFailures()));
    meters.add(
        counter(
            "lb4j.source.port.failures",
            "Connects to the backend that failed for want of a local source port (EADDRNOTAVAIL)",
            tags,
            p -> p.backendSnapshot(rule, backend).sourcePortFailures()));
    meters.add(
        counter(
            "lb4j.resets",
            "Connections ended with a TCP reset",
            tags,
            p -> p.backendSnapshot(rule, backend).resets()));
    meters.add(
        counter(
            "lb4j.idle.timeouts",
            "Connections closed by the idle timeout",
            tags,
            p -> p.backendSnapshot(rule, backend).idleTimeouts()));
    BackendEventMeters.Key self = new BackendEventMeters.Key(rule, backend);
    meters.add(
        gauge(
            "lb4j.backend.healthy",
            "1 when the backend is healthy for the rule, else 0",
            tags,
            p -> health(self, h -> h.state() == HealthState.HEALTHY ? 1 : 0)));
    meters.add(
        gauge(
            "lb4j.backend.in.rotation",
            "1 when the backend takes new flows, else 0",
            tags,
            p -> health(self, h -> h.inRotation() ? 1 : 0)));
    meters.add(
        gauge(
            "lb4j.backend.weight",
            "The backend's configured weight",
            tags,
            p -> backend(self, b -> b.weight())));
    for (AdminState state : AdminState.values()) {
      meters.add(
          gauge(
              "lb4j.backend.admin.state",
              "1 for the backend's admin state, 0 for the others",
              tags.and("state", BackendEventMeters.lower(state)),
              p -> backend(self, b -> b.adminState() == state ? 1 : 0)));
    }
    for (HealthState state : HealthState.values()) {
      meters.add(
          gauge(
              "lb4j.backend.health.state",
              "1 for the backend's health for the rule (override, ejection, probe), 0 for the"
                  + " others",
              tags.and("state", BackendEventMeters.lower(state)),
              p -> health(self, h -> h.state() == state ? 1 : 0)));
    }
    meters.add(
        gauge(
            "lb4j.backend.ejected",
            "1 while passive health has the backend ejected, else 0",
            tags,
            p -> health(self, h -> h.isEjected() ? 1 : 0)));
    meters.add(
        gauge(
            "lb4j.flows.active",
            "Flows pinned to the backend in the flow table",
            tags,
            p -> p.loadBalancer().activeFlows(rule, backend)));
    bySeries.put(key, meters);
  }

  /** Returns the backend's health, or null when a reload removed it since the config was read. */
  private BackendHealth health(String rule, String backend) {
    try {
      return proxy.loadBalancer().health(rule, backend);
    } catch (IllegalArgumentException gone) {
      return null;
    }
  }

  /** Returns {@code value} of the backend's health in this scrape, or NaN. */
  private double health(BackendEventMeters.Key key, ToDoubleFunction<BackendHealth> value) {
    BackendState s = backends.get(key);
    return s == null || s.health() == null ? Double.NaN : value.applyAsDouble(s.health());
  }

  /** Returns {@code value} of the backend's record in this scrape, or NaN. */
  private double backend(BackendEventMeters.Key key, ToDoubleFunction<Backend> value) {
    BackendState s = backends.get(key);
    return s == null ? Double.NaN : value.applyAsDouble(s.backend());
  }

  private Meter counter(
      String name, String description, Tags tags, ToLongFunction<NettyL4Proxy> value) {
    return FunctionCounter.builder(name, proxy, p -> (double) value.applyAsLong(p))
        .description(description)
        .tags(tags)
        .register(registry);
  }

  private Meter gauge(
      String name, String description, Tags tags, ToDoubleFunction<NettyL4Proxy> value) {
    return Gauge.builder(name, proxy, value).description(description).tags(tags).register(registry);
  }
}
