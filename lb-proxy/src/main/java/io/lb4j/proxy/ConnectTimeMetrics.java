package io.lb4j.proxy;

import io.lb4j.LoadBalancerConfig;
import io.lb4j.Rule;
import io.lb4j.netty.ConnectionListener;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.HashSet;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.TimeUnit;

/**
 * {@code lb4j_backend_connect_seconds{rule,backend}}: a histogram of the time each successful
 * connect to a backend took, from the connect call to the established connection (one attempt;
 * failed attempts are {@code lb4j_connect_failures_total}). Envoy's {@code upstream_cx_connect_ms}
 * and HAProxy's {@code Tc} (its Prometheus exporter's {@code
 * haproxy_backend_connect_time_average_seconds}) measure the same.
 *
 * <p>Fed by the proxy as a {@link ConnectionListener}: one {@link Timer#record} on the event loop
 * per connect, two map lookups and no allocation once a backend has its timer. The buckets are
 * fixed ({@link #BUCKETS}, 0.5 ms to 5 s, 13 of them and {@code +Inf}) rather than Micrometer's
 * percentile histogram, which would add several dozen series per rule and backend.
 *
 * <p>Thread-safe.
 */
final class ConnectTimeMetrics implements ConnectionListener {
  /**
   * The histogram's upper bounds: 0.5 ms (a connect on one host) to 5 s (the default connect
   * timeout, Envoy's {@code connect_timeout}), about ×2.5 apart as Prometheus' default buckets.
   */
  static final Duration[] BUCKETS =
      Buckets.oneTwoFive(Duration.ofNanos(500_000), Duration.ofSeconds(5));

  private final MeterRegistry registry;

  /** By rule, then by backend id. */
  private final ConcurrentMap<String, ConcurrentMap<String, Timer>> timers =
      new ConcurrentHashMap<>();

  ConnectTimeMetrics(MeterRegistry registry) {
    this.registry = registry;
  }

  @Override
  public void onConnected(String rule, String backend, long connectNanos) {
    timer(rule, backend).record(connectNanos, TimeUnit.NANOSECONDS);
  }

  private Timer timer(String rule, String backend) {
    ConcurrentMap<String, Timer> byBackend = timers.get(rule);
    Timer t = byBackend == null ? null : byBackend.get(backend);
    if (t != null) {
      return t;
    }
    return timers
        .computeIfAbsent(rule, r -> new ConcurrentHashMap<>())
        .computeIfAbsent(backend, b -> register(rule, b));
  }

  private Timer register(String rule, String backend) {
    return Timer.builder("lb4j.backend.connect")
        .description(
            "Time to establish a TCP connection to the backend, per successful connect"
                + " (failures: lb4j_connect_failures_total)")
        .tags("rule", rule, "backend", backend)
        .serviceLevelObjectives(BUCKETS)
        .register(registry);
  }

  /**
   * Gives every backend of every rule of {@code config} its histogram, so that a backend no
   * connection reached yet shows zeros, and removes those of rules and backends that are gone.
   */
  void refresh(LoadBalancerConfig config) {
    Set<String> rules = new HashSet<>();
    for (Rule r : config.rules()) {
      rules.add(r.name());
      Set<String> backends = new HashSet<>();
      for (AdminPages.Target t : AdminPages.targets(config, r)) {
        backends.add(t.backend().id());
        timer(r.name(), t.backend().id());
      }
      retain(timers.get(r.name()), backends);
    }
    for (Iterator<Map.Entry<String, ConcurrentMap<String, Timer>>> it =
            timers.entrySet().iterator();
        it.hasNext(); ) {
      Map.Entry<String, ConcurrentMap<String, Timer>> e = it.next();
      if (!rules.contains(e.getKey())) {
        retain(e.getValue(), Set.of());
        it.remove();
      }
    }
  }

  private void retain(ConcurrentMap<String, Timer> byBackend, Set<String> backends) {
    if (byBackend == null) {
      return;
    }
    for (Iterator<Map.Entry<String, Timer>> it = byBackend.entrySet().iterator(); it.hasNext(); ) {
      Map.Entry<String, Timer> e = it.next();
      if (!backends.contains(e.getKey())) {
        registry.remove(e.getValue());
        it.remove();
      }
    }
  }
}
