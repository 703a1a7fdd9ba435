package io.lb4j.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.lb4j.HealthEvent;
import io.lb4j.HealthState;
import io.lb4j.ProbeOutcome;
import io.lb4j.ProbeResult;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.distribution.CountAtBucket;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The event-fed per-backend meters, on a plain registry. */
class BackendEventMetersTest {
  private static final Instant T0 = Instant.parse("2026-11-21T12:00:00Z");

  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final BackendEventMeters meters = new BackendEventMeters(registry);

  private static ProbeResult result(ProbeOutcome outcome, long micros) {
    return new ProbeResult(T0, outcome, Duration.ofNanos(micros * 1000), "scripted");
  }

  private double counter(String name, String... tags) {
    Counter c = registry.find(name).tags(tags).counter();
    assertNotNull(c, name + " " + String.join(",", tags));
    return c.count();
  }

  @Test
  void ensure_everySeriesAtZero() {
    meters.ensure("app", "web-0");
    assertEquals(0, counter("lb4j.probe.attempts", "rule", "app", "backend", "web-0"));
    for (ProbeOutcome o : ProbeOutcome.values()) {
      if (o.isSuccess()) {
        assertNull(registry.find("lb4j.probe.failures").tag("outcome", "success").counter());
      } else {
        assertEquals(
            0,
            counter(
                "lb4j.probe.failures", "backend", "web-0", "outcome", BackendEventMeters.lower(o)));
      }
    }
    for (HealthState s : HealthState.values()) {
      assertEquals(
          0,
          counter(
              "lb4j.backend.health.transitions",
              "backend",
              "web-0",
              "to",
              BackendEventMeters.lower(s)));
    }
    assertEquals(0, counter("lb4j.backend.ejections", "backend", "web-0"));
    assertEquals(0, registry.find("lb4j.probe.duration").timer().count());
  }

  @Test
  void events_countedPerRuleAndBackend_latencyInTheRightBucket() {
    meters.onProbeResult("app", "web-0", result(ProbeOutcome.SUCCESS, 800)); // 0.8 ms
    meters.onProbeResult("app", "web-0", result(ProbeOutcome.REFUSED, 3_000)); // 3 ms
    meters.onProbeResult("app", "web-0", result(ProbeOutcome.TIMEOUT, 2_250_000)); // 2.25 s
    meters.onProbeResult("other", "web-0", result(ProbeOutcome.SUCCESS, 800));
    meters.onHealthChange(
        new HealthEvent(
            T0, "app", "web-0", HealthState.HEALTHY, HealthState.UNHEALTHY, "probe", null));
    meters.onEjection("app", "web-0", Duration.ofSeconds(30));

    assertEquals(3, counter("lb4j.probe.attempts", "rule", "app", "backend", "web-0"));
    assertEquals(1, counter("lb4j.probe.attempts", "rule", "other", "backend", "web-0"));
    assertEquals(1, counter("lb4j.probe.failures", "rule", "app", "outcome", "refused"));
    assertEquals(1, counter("lb4j.probe.failures", "rule", "app", "outcome", "timeout"));
    assertEquals(0, counter("lb4j.probe.failures", "rule", "app", "outcome", "tls_error"));
    assertEquals(1, counter("lb4j.backend.health.transitions", "rule", "app", "to", "unhealthy"));
    assertEquals(0, counter("lb4j.backend.health.transitions", "rule", "app", "to", "healthy"));
    assertEquals(1, counter("lb4j.backend.ejections", "rule", "app"));

    Timer t = registry.find("lb4j.probe.duration").tags("rule", "app").timer();
    assertEquals(3, t.count());
    assertEquals(2.2538, t.totalTime(TimeUnit.SECONDS), 1e-9);
    double[] upTo = {0.001, 0.005, 2.5, 10};
    long[] expected = {1, 2, 3, 3};
    CountAtBucket[] buckets = t.takeSnapshot().histogramCounts();
    assertEquals(BackendEventMeters.PROBE_BUCKETS.length, buckets.length);
    for (int i = 0; i < upTo.length; i++) {
      Long count = null;
      for (CountAtBucket b : buckets) {
        if (Math.abs(b.bucket(TimeUnit.SECONDS) - upTo[i]) < 1e-12) {
          count = (long) b.count();
        }
      }
      assertEquals(expected[i], count, "bucket le " + upTo[i]);
    }
  }

  @Test
  void retain_removesDepartedBackends_aReturningOneStartsAfresh() {
    meters.onProbeResult("app", "web-0", result(ProbeOutcome.REFUSED, 500));
    meters.onProbeResult("app", "web-1", result(ProbeOutcome.SUCCESS, 500));
    meters.retain(Set.of(new BackendEventMeters.Key("app", "web-1")));
    assertNull(registry.find("lb4j.probe.attempts").tags("backend", "web-0").counter());
    assertNull(registry.find("lb4j.probe.duration").tags("backend", "web-0").timer());
    assertEquals(1, counter("lb4j.probe.attempts", "backend", "web-1"));

    meters.onProbeResult("app", "web-0", result(ProbeOutcome.SUCCESS, 500));
    assertEquals(1, counter("lb4j.probe.attempts", "backend", "web-0"), "registered again");
    assertEquals(0, counter("lb4j.probe.failures", "backend", "web-0", "outcome", "refused"));
  }
}
