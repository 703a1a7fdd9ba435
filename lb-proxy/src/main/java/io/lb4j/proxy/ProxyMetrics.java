package io.lb4j.proxy;

import io.lb4j.BackendHealth;
import io.lb4j.HealthState;
import io.lb4j.LoadBalancerConfig;
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
 * for new rules and backends and removes those of departed ones, so a reload shows up on the next
 * scrape.
 *
 * <p>Names (Prometheus form): per rule and backend {@code lb4j_connections_active}, {@code
 * lb4j_connections_total}, {@code lb4j_relayed_bytes_total{direction="to_backend"|"to_client"}},
 * {@code lb4j_connect_failures_total}, {@code lb4j_source_port_failures_total}, {@code
 * lb4j_resets_total}, {@code lb4j_idle_timeouts_total}, {@code lb4j_backend_healthy} (1 or 0),
 * {@code lb4j_backend_in_rotation} (1 or 0), {@code lb4j_flows_active}; per rule {@code
 * lb4j_refusals_total}, {@code
 * lb4j_frontend_refusals_total{reason="deny_list"|"not_in_allow_list"|"connection_limit"|...}} and
 * {@code lb4j_hairpin_connections_total}, and {@code
 * lb4j_rule_selection_fingerprint{rule,fingerprint}} (1, the fingerprint as a label); per pool with
 * a membership source {@code lb4j_discovery_state{pool,source,state}} (1 for the current state),
 * {@code lb4j_discovery_members}, {@code lb4j_discovery_last_good_answer_age_seconds}, {@code
 * lb4j_discovery_answers_total{result="applied"|"unchanged"|"refused"}} and {@code
 * lb4j_discovery_failures_total}; {@code lb4j_flow_table_flows}; the connect-time histogram {@code
 * lb4j_backend_connect_seconds{rule,backend}} ({@link ConnectTimeMetrics}); and Micrometer's JVM,
 * CPU and uptime meters.
 *
 * <p>Thread-safe.
 */
final class ProxyMetrics {
  private final NettyL4Proxy proxy;
  private final PrometheusMeterRegistry registry =
      new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final Map<String, List<Meter>> bySeries = new HashMap<>();
  private final ConnectTimeMetrics connectTimes = new ConnectTimeMetrics(registry);

  private static final String ANSWERS =
      "Answers of the pool's source: applied, unchanged (equal to the pool), refused by the guard";

  /** The sources' statuses as the current scrape reads them, by pool; one read per scrape. */
  private volatile Map<String, DiscoveryStatus> sources = Map.of();

  ProxyMetrics(NettyL4Proxy proxy) {
    this.proxy = proxy;
    new JvmMemoryMetrics().bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    Gauge.builder("lb4j.flow.table.flows", proxy, p -> p.loadBalancer().activeFlows())
        .description("Flows in the flow table, expired ones until maintenance removes them")
        .register(registry);
    proxy.addConnectionListener(connectTimes); // lb4j_backend_connect_seconds
  }

  /** Returns the metrics in Prometheus text format, version 0.0.4. */
  synchronized String scrape() {
    refresh();
    return registry.scrape();
  }

  private void refresh() {
    LoadBalancerConfig config = proxy.loadBalancer().config();
    Set<String> wanted = new HashSet<>();
    for (Rule r : config.rules()) {
      ruleMeters(r.name(), wanted);
      fingerprintMeter(r.name(), wanted);
      for (AdminPages.Target t : AdminPages.targets(config, r)) {
        backendMeters(r.name(), t.backend().id(), wanted);
      }
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
              tags.and("reason", reason.name().toLowerCase(java.util.Locale.ROOT)),
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
    meters.add(
        gauge(
            "lb4j.backend.healthy",
            "1 when the backend is healthy for the rule, else 0",
            tags,
            p -> health(p, rule, backend, true)));
    meters.add(
        gauge(
            "lb4j.backend.in.rotation",
            "1 when the backend takes new flows, else 0",
            tags,
            p -> health(p, rule, backend, false)));
    meters.add(
        gauge(
            "lb4j.flows.active",
            "Flows pinned to the backend in the flow table",
            tags,
            p -> p.loadBalancer().activeFlows(rule, backend)));
    bySeries.put(key, meters);
  }

  private static double health(NettyL4Proxy p, String rule, String backend, boolean healthy) {
    try {
      BackendHealth h = p.loadBalancer().health(rule, backend);
      return healthy ? (h.state() == HealthState.HEALTHY ? 1 : 0) : (h.inRotation() ? 1 : 0);
    } catch (IllegalArgumentException gone) {
      return Double.NaN; // removed by a reload since the last refresh
    }
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
