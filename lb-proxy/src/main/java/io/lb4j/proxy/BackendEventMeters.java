package io.lb4j.proxy;

import io.lb4j.HealthEvent;
import io.lb4j.HealthState;
import io.lb4j.LoadBalancerListener;
import io.lb4j.ProbeOutcome;
import io.lb4j.ProbeResult;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The per-backend meters that events feed rather than a scrape reads: the balancer's probe results
 * ({@link LoadBalancerListener#onProbeResult}), health changes and passive ejections. Per rule and
 * backend: {@code lb4j_probe_attempts_total}, {@code lb4j_probe_failures_total{outcome}} (one
 * series per failing {@link ProbeOutcome}), the histogram {@code lb4j_probe_duration_seconds},
 * {@code lb4j_backend_health_transitions_total{to}} (one series per {@link HealthState}) and {@code
 * lb4j_backend_ejections_total}. Every series exists at zero from the backend's first scrape (or
 * first event), so dashboards and {@code increase()} see it before the first event.
 *
 * <p>The hot call, {@link #onProbeResult}, is one map lookup and a few atomic updates. Meters
 * follow the configuration through {@link #ensure} and {@link #retain}, which the scrape calls.
 *
 * <p>Thread-safe.
 */
final class BackendEventMeters implements LoadBalancerListener {

  /**
   * The probe-latency histogram's buckets, 1 ms to 10 s: loopback and LAN handshakes fall in the
   * first buckets, an HTTP check of a loaded server in the middle ones, probes that approach a
   * timeout (2 s by default, HAProxy's {@code timeout check} and Envoy's health-check {@code
   * timeout} are seconds too) in the last.
   */
  static final Duration[] PROBE_BUCKETS =
      Buckets.oneTwoFive(Duration.ofMillis(1), Duration.ofSeconds(10));

  private final MeterRegistry registry;
  private final Map<Key, Meters> byBackend = new ConcurrentHashMap<>();

  /** A backend of a rule. */
  record Key(String rule, String backend) {}

  BackendEventMeters(MeterRegistry registry) {
    this.registry = registry;
  }

  /** Makes sure the backend's meters exist. */
  void ensure(String rule, String backend) {
    meters(rule, backend);
  }

  /** Removes the meters of every backend not in {@code wanted}. */
  synchronized void retain(Set<Key> wanted) {
    for (Key k : new ArrayList<>(byBackend.keySet())) {
      if (!wanted.contains(k)) {
        for (Meter m : byBackend.get(k).all) {
          registry.remove(m);
        }
        byBackend.remove(k);
      }
    }
  }

  @Override
  public void onProbeResult(String rule, String backendId, ProbeResult result) {
    Meters m = meters(rule, backendId);
    m.attempts.increment();
    if (!result.isSuccess()) {
      m.failures.get(result.outcome()).increment();
    }
    m.duration.record(result.latency());
  }

  @Override
  public void onHealthChange(HealthEvent event) {
    meters(event.rule(), event.backendId()).transitions.get(event.to()).increment();
  }

  @Override
  public void onEjection(String rule, String backendId, Duration duration) {
    meters(rule, backendId).ejections.increment();
  }

  private Meters meters(String rule, String backend) {
    Key key = new Key(rule, backend);
    Meters m = byBackend.get(key);
    if (m != null) {
      return m;
    }
    synchronized (this) { // not while retain() removes: a new Meters registers afresh
      return byBackend.computeIfAbsent(key, k -> new Meters(registry, k));
    }
  }

  /** One backend's meters. */
  private static final class Meters {
    final List<Meter> all = new ArrayList<>();
    final Counter attempts;
    final Map<ProbeOutcome, Counter> failures = new EnumMap<>(ProbeOutcome.class);
    final Timer duration;
    final Map<HealthState, Counter> transitions = new EnumMap<>(HealthState.class);
    final Counter ejections;

    Meters(MeterRegistry registry, Key key) {
      Tags tags = Tags.of("rule", key.rule(), "backend", key.backend());
      attempts =
          add(
              Counter.builder("lb4j.probe.attempts")
                  .description("Health probes of the backend, every outcome")
                  .tags(tags)
                  .register(registry));
      for (ProbeOutcome o : ProbeOutcome.values()) {
        if (!o.isSuccess()) {
          failures.put(
              o,
              add(
                  Counter.builder("lb4j.probe.failures")
                      .description("Health probes of the backend that failed, by outcome")
                      .tags(tags.and("outcome", lower(o)))
                      .register(registry)));
        }
      }
      duration =
          add(
              Timer.builder("lb4j.probe.duration")
                  .description("How long health probes of the backend took, to their outcome")
                  .tags(tags)
                  .serviceLevelObjectives(PROBE_BUCKETS)
                  .register(registry));
      for (HealthState s : HealthState.values()) {
        transitions.put(
            s,
            add(
                Counter.builder("lb4j.backend.health.transitions")
                    .description("Changes of the backend's health for the rule, by the state after")
                    .tags(tags.and("to", lower(s)))
                    .register(registry)));
      }
      ejections =
          add(
              Counter.builder("lb4j.backend.ejections")
                  .description("Passive-health ejections of the backend after connect failures")
                  .tags(tags)
                  .register(registry));
    }

    private <M extends Meter> M add(M meter) {
      all.add(meter);
      return meter;
    }
  }

  static String lower(Enum<?> e) {
    return e.name().toLowerCase(Locale.ROOT);
  }
}
