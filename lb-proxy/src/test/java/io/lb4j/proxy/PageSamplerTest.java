package io.lb4j.proxy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lb4j.ProbeOutcome;
import io.lb4j.ProbeResult;
import io.lb4j.proxy.PageSampler.BackendReading;
import io.lb4j.proxy.PageSampler.RuleReading;
import io.lb4j.testing.FakeClock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * The sampler on a fake scheduler ({@link FakeClock}: samples run only when the test moves the
 * clock) over a scripted source: what each sample records, the ring's bound, backends that come and
 * go, and the dating of state changes.
 */
class PageSamplerTest {
  private static final Duration INTERVAL = Duration.ofSeconds(5);

  private final FakeClock clock = new FakeClock();

  /** A scripted proxy: counters, states and probe results the test sets. */
  private static final class Script implements PageSampler.Source {
    final Map<String, Long> connections = new LinkedHashMap<>();
    final Map<String, String> states = new LinkedHashMap<>();
    final Map<String, List<ProbeResult>> probes = new LinkedHashMap<>();
    long ruleConnections;
    final AtomicReference<RuntimeException> failure = new AtomicReference<>();

    void backend(String id, long count, String state) {
      connections.put(id, count);
      states.put(id, state);
      probes.putIfAbsent(id, new ArrayList<>());
    }

    @Override
    public List<RuleReading> read() {
      RuntimeException e = failure.get();
      if (e != null) {
        throw e;
      }
      List<BackendReading> backends = new ArrayList<>();
      for (String id : connections.keySet()) {
        backends.add(new BackendReading(id, connections.get(id), states.get(id), probes.get(id)));
      }
      return List.of(new RuleReading("app", ruleConnections, backends));
    }
  }

  private PageSampler sampler(Script script, int capacity) {
    return new PageSampler(script, clock, false, clock, clock, INTERVAL, capacity).start();
  }

  private static ProbeResult probe(Instant at, long micros) {
    return new ProbeResult(at, ProbeOutcome.SUCCESS, Duration.ofNanos(micros * 1000), "connected");
  }

  @Test
  void sample_everyInterval_recordsConnectionsPerSecondOfTheDelta() {
    Script script = new Script();
    script.backend("web-0", 100, "in rotation");
    script.ruleConnections = 100;
    PageSampler s = sampler(script, 60);
    assertEquals(1, clock.pendingTasks(), "one periodic sample");
    assertEquals(List.of(INTERVAL), clock.pendingDelays());
    assertArrayEquals(new double[0], s.series("app", "web-0").connectionsPerSecond());
    assertTrue(Double.isNaN(s.rate("app")), "no rate before the first sample");

    script.backend("web-0", 110, "in rotation");
    script.ruleConnections = 112;
    clock.forwardTime(INTERVAL);
    script.backend("web-0", 135, "in rotation");
    script.ruleConnections = 137;
    clock.forwardTime(INTERVAL);
    clock.forwardTime(INTERVAL); // nothing new

    assertArrayEquals(
        new double[] {2.0, 5.0, 0.0}, s.series("app", "web-0").connectionsPerSecond(), 1e-12);
    assertEquals(0.0, s.rate("app"), 1e-12);
    clock.forwardTime(Duration.ofSeconds(1)); // between samples: nothing
    assertEquals(3, s.series("app", "web-0").connectionsPerSecond().length);
  }

  @Test
  void sample_counterFell_countsFromZero() {
    Script script = new Script();
    script.backend("web-0", 50, "in rotation");
    PageSampler s = sampler(script, 60);
    script.backend("web-0", 10, "in rotation"); // a counter that restarted
    clock.forwardTime(INTERVAL);
    assertArrayEquals(new double[] {2.0}, s.series("app", "web-0").connectionsPerSecond(), 1e-12);
  }

  @Test
  void sample_pastCapacity_keepsTheNewestOldestFirst() {
    Script script = new Script();
    script.backend("web-0", 0, "in rotation");
    PageSampler s = sampler(script, 4);
    for (int i = 1; i <= 6; i++) {
      script.backend("web-0", 5L * i * i, "in rotation"); // deltas 5, 15, 25, ...: rates 1, 3, 5,
      clock.forwardTime(INTERVAL);
    }
    assertArrayEquals(
        new double[] {5, 7, 9, 11}, s.series("app", "web-0").connectionsPerSecond(), 1e-12);
  }

  @Test
  void sample_probeLatency_slowestNewResultOrTheLatest() {
    Script script = new Script();
    Instant t0 = Instant.parse("2026-11-21T12:00:00Z");
    script.backend("web-0", 0, "in rotation");
    script.probes.get("web-0").add(probe(t0, 9_000)); // before the start: not counted
    PageSampler s = sampler(script, 60);
    script.probes.get("web-0").add(probe(t0.plusSeconds(1), 1_500));
    script.probes.get("web-0").add(probe(t0.plusSeconds(3), 2_500));
    script.probes.get("web-0").add(probe(t0.plusSeconds(4), 500));
    clock.forwardTime(INTERVAL);
    clock.forwardTime(INTERVAL); // no probe completed: the latest, not the slowest
    script.probes.get("web-0").add(probe(t0.plusSeconds(12), 750));
    clock.forwardTime(INTERVAL);
    double[] ms = s.series("app", "web-0").probeLatencyMillis();
    assertArrayEquals(new double[] {2.5, 0.5, 0.75}, ms, 1e-12);
  }

  @Test
  void sample_noProbeResultYet_latencyNan() {
    Script script = new Script();
    script.backend("web-0", 0, "down: UNKNOWN");
    PageSampler s = sampler(script, 60);
    clock.forwardTime(INTERVAL);
    script.backend("web-1", 0, "down: UNKNOWN");
    script.probes.get("web-1").add(probe(Instant.parse("2026-11-21T12:00:00Z"), 3_000));
    script.probes.get("web-1").add(probe(Instant.parse("2026-11-21T12:00:01Z"), 1_000));
    clock.forwardTime(INTERVAL);
    double[] web0 = s.series("app", "web-0").probeLatencyMillis();
    assertEquals(2, web0.length);
    assertTrue(Double.isNaN(web0[0]) && Double.isNaN(web0[1]), "no result: " + s);
    assertArrayEquals(
        new double[] {1.0},
        s.series("app", "web-1").probeLatencyMillis(),
        1e-12,
        "first seen: its latest result");
  }

  @Test
  void sample_backendArrivesAndLeaves_noRateFirstThenForgotten() {
    Script script = new Script();
    script.backend("web-0", 0, "in rotation");
    PageSampler s = sampler(script, 60);
    clock.forwardTime(INTERVAL);
    script.backend("web-1", 40, "down: UNKNOWN");
    clock.forwardTime(INTERVAL);
    script.backend("web-1", 50, "in rotation");
    clock.forwardTime(INTERVAL);
    double[] web1 = s.series("app", "web-1").connectionsPerSecond();
    assertEquals(2, web1.length);
    assertTrue(Double.isNaN(web1[0]), "no earlier count to subtract");
    assertEquals(2.0, web1[1], 1e-12);
    script.connections.remove("web-1");
    clock.forwardTime(INTERVAL);
    assertEquals(0, s.series("app", "web-1").connectionsPerSecond().length, "forgotten");
    assertEquals(4, s.series("app", "web-0").connectionsPerSecond().length);
  }

  @Test
  void sample_sourceFails_skipsAndSamplesAgainNextTime() {
    Script script = new Script();
    script.backend("web-0", 0, "in rotation");
    PageSampler s = sampler(script, 60);
    script.failure.set(new IllegalArgumentException("pool web: gone"));
    clock.forwardTime(INTERVAL);
    assertEquals(0, s.series("app", "web-0").connectionsPerSecond().length);
    script.failure.set(null);
    script.backend("web-0", 20, "in rotation");
    clock.forwardTime(INTERVAL);
    // the count is subtracted over the time since the last good sample: 20 over 10 s
    assertArrayEquals(new double[] {2.0}, s.series("app", "web-0").connectionsPerSecond(), 1e-12);
  }

  @Test
  void since_stateChanges_datedByTheSampleOrEventThatSawThem() {
    Script script = new Script();
    script.backend("web-0", 0, "in rotation");
    Instant start = clock.instant();
    PageSampler s = sampler(script, 60);
    assertEquals(start, s.started());
    clock.forwardTime(INTERVAL);
    assertEquals(start, s.since("app", "web-0", "in rotation", clock.instant()), "unchanged");

    script.backend("web-0", 0, "draining: admin DRAINING");
    clock.forwardTime(INTERVAL);
    Instant drained = clock.instant();
    clock.forwardTime(Duration.ofSeconds(2));
    assertEquals(drained, s.since("app", "web-0", "draining: admin DRAINING", clock.instant()));

    // a page view sees a change first: dated by the view
    Instant viewed = clock.instant();
    assertEquals(viewed, s.since("app", "web-0", "disabled: admin DISABLED", viewed));

    // a health event dates the change exactly; the next look fills the state in
    Instant event = viewed.plusMillis(1234);
    script.backend("web-0", 0, "disabled: admin DISABLED");
    s.healthChanged("app", "web-0", event);
    clock.forwardTime(INTERVAL);
    assertEquals(event, s.since("app", "web-0", "disabled: admin DISABLED", clock.instant()));
  }

  @Test
  void close_cancelsTheSamples() {
    Script script = new Script();
    script.backend("web-0", 0, "in rotation");
    PageSampler s = sampler(script, 60);
    s.close();
    s.close(); // idempotent
    assertEquals(0, clock.pendingTasks());
    script.backend("web-0", 10, "in rotation");
    clock.forwardTime(INTERVAL.multipliedBy(3));
    assertEquals(0, s.series("app", "web-0").connectionsPerSecond().length);
  }

  @Test
  void constructor_badSettings_namedWithExpectation() {
    Script script = new Script();
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> new PageSampler(script, clock, false, clock, clock, Duration.ZERO, 60));
    assertEquals("interval: PT0S (expected: > 0)", e.getMessage());
    e =
        assertThrows(
            IllegalArgumentException.class,
            () -> new PageSampler(script, clock, false, clock, clock, INTERVAL, 1));
    assertEquals("capacity: 1 (expected: >= 2)", e.getMessage());
  }
}
