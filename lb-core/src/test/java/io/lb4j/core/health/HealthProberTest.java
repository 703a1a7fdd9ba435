package io.lb4j.core.health;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lb4j.HealthProbe;
import io.lb4j.HealthState;
import io.lb4j.ProbeOutcome;
import io.lb4j.ProbeResult;
import io.lb4j.testing.FakeClock;
import io.lb4j.testing.FakeHealthChecker;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The prober's scheduling under a fake clock and a scripted checker. */
class HealthProberTest {
  private static final long SEED = 5;
  private static final Duration INTERVAL = Duration.ofSeconds(5);

  private final FakeClock clock = new FakeClock();
  private final FakeHealthChecker checker = new FakeHealthChecker(clock);
  private final List<String> transitions = new ArrayList<>();

  private HealthProber prober() {
    return HealthProber.builder()
        .checker(checker)
        .scheduler(clock)
        .ticker(clock)
        .clock(clock)
        .seed(SEED)
        .historySize(4)
        .listener(
            (t, r, before, after) -> {
              if (before != after) {
                transitions.add(t.address().getPort() + ":" + before + "->" + after);
              }
            })
        .build();
  }

  private static InetSocketAddress target(int i) {
    return new InetSocketAddress("127.0.1." + (1 + i / 200), 8000 + i);
  }

  private static HealthProbe probe(int jitterPercent) {
    return HealthProbe.builder("tcp")
        .interval(INTERVAL)
        .timeout(Duration.ofSeconds(2))
        .healthyThreshold(2)
        .unhealthyThreshold(3)
        .jitterPercent(jitterPercent)
        .build();
  }

  @Test
  void start_manyTargets_firstProbesSpreadOverOneInterval() {
    HealthProber prober = prober();
    int n = 1000;
    for (int i = 0; i < n; i++) {
      prober.add(target(i), probe(10));
    }
    prober.start();
    Instant start = clock.instant();
    clock.forwardTime(INTERVAL.minusNanos(1));
    java.util.Map<InetSocketAddress, Instant> first = new java.util.HashMap<>();
    for (FakeHealthChecker.Call c : checker.calls()) {
      first.putIfAbsent(c.target(), c.time());
    }
    assertEquals(n, first.size(), "every target is probed within the first interval");
    // spread: each fifth of the interval holds about a fifth of the first probes
    int[] fifths = new int[5];
    for (Instant t : first.values()) {
      long ms = Duration.between(start, t).toMillis();
      fifths[(int) (ms * 5 / INTERVAL.toMillis())]++;
    }
    for (int f : fifths) {
      assertEquals(200, f, 50, "first probes per fifth of the interval: seed " + SEED);
    }
  }

  @Test
  void run_laterIntervals_stayWithinJitterBounds() {
    HealthProber prober = prober();
    InetSocketAddress t = target(0);
    prober.add(t, probe(20));
    prober.start();
    clock.forwardTime(Duration.ofSeconds(200));
    List<FakeHealthChecker.Call> calls = checker.calls(t);
    assertTrue(calls.size() >= 35, "probes: " + calls.size());
    long min = Long.MAX_VALUE;
    long max = 0;
    for (int i = 1; i < calls.size(); i++) {
      long gap = Duration.between(calls.get(i - 1).time(), calls.get(i).time()).toMillis();
      min = Math.min(min, gap);
      max = Math.max(max, gap);
    }
    assertTrue(min >= 4000 && max <= 6000, "gaps " + min + "-" + max + " ms, 5 s +-20%");
    assertTrue(max - min > 500, "no jitter: gaps " + min + "-" + max + " ms");
  }

  @Test
  void run_zeroJitter_exactInterval() {
    HealthProber prober = prober();
    InetSocketAddress t = target(0);
    prober.add(t, probe(0));
    prober.start();
    clock.forwardTime(Duration.ofSeconds(60));
    List<FakeHealthChecker.Call> calls = checker.calls(t);
    for (int i = 1; i < calls.size(); i++) {
      assertEquals(INTERVAL, Duration.between(calls.get(i - 1).time(), calls.get(i).time()));
    }
  }

  @Test
  void run_hangingTarget_neverOverlapsAndTimesOutAtBackstop() {
    HealthProber prober = prober();
    InetSocketAddress slow = target(0);
    InetSocketAddress fast = target(1);
    checker.hang(slow);
    HealthProber.Target slowTarget = prober.add(slow, probe(0));
    prober.add(fast, probe(0));
    prober.start();
    clock.forwardTime(Duration.ofSeconds(60));
    // never more than one probe of the slow target in flight
    assertTrue(checker.hangingNow() <= 1, "overlapping probes: " + checker.hangingNow());
    List<ProbeResult> results = slowTarget.results();
    assertTrue(results.size() >= 3, "results: " + results);
    for (ProbeResult r : results) {
      assertEquals(ProbeOutcome.TIMEOUT, r.outcome());
      // timeout 2 s plus the 250 ms grace, found by the sweep that runs every 250 ms
      assertTrue(
          r.latency().compareTo(Duration.ofMillis(2250)) > 0
              && r.latency().compareTo(Duration.ofMillis(2500)) <= 0,
          r.toString());
    }
    assertEquals(HealthState.UNHEALTHY, slowTarget.state());
    // the slow target delayed no one: the fast one ran every 5 s
    List<FakeHealthChecker.Call> fastCalls = checker.calls(fast);
    assertTrue(fastCalls.size() >= 11, "fast target probes: " + fastCalls.size());
    assertEquals(Duration.ZERO, prober.stats().latenessMax());
  }

  @Test
  void run_failuresThenRecovery_transitionsAtThresholds() {
    HealthProber prober = prober();
    InetSocketAddress t = target(3);
    HealthProber.Target target = prober.add(t, probe(0));
    prober.start();
    clock.forwardTime(INTERVAL); // first probe passes: UNKNOWN -> HEALTHY
    assertEquals(HealthState.HEALTHY, target.state());
    checker.answer(t, ProbeOutcome.REFUSED);
    clock.forwardTime(INTERVAL.multipliedBy(2));
    assertEquals(HealthState.HEALTHY, target.state(), "2 failures < unhealthy threshold 3");
    clock.forwardTime(INTERVAL);
    assertEquals(HealthState.UNHEALTHY, target.state());
    checker.answer(t, ProbeOutcome.SUCCESS);
    clock.forwardTime(INTERVAL);
    assertEquals(HealthState.UNHEALTHY, target.state(), "1 pass < healthy threshold 2");
    clock.forwardTime(INTERVAL);
    assertEquals(HealthState.HEALTHY, target.state());
    assertEquals(
        List.of("8003:UNKNOWN->HEALTHY", "8003:HEALTHY->UNHEALTHY", "8003:UNHEALTHY->HEALTHY"),
        transitions);
    assertEquals(4, target.results().size(), "history keeps the last 4");
    assertEquals(ProbeOutcome.SUCCESS, target.lastResult().outcome());
  }

  @Test
  void remove_target_stopsProbing() {
    HealthProber prober = prober();
    InetSocketAddress t = target(0);
    HealthProber.Target target = prober.add(t, probe(0));
    prober.start();
    clock.forwardTime(INTERVAL.multipliedBy(2));
    int before = checker.calls(t).size();
    prober.remove(target);
    clock.forwardTime(INTERVAL.multipliedBy(4));
    assertEquals(before, checker.calls(t).size());
    assertEquals(1, clock.pendingTasks(), "only the timeout sweep remains");
  }

  @Test
  void close_stopsEverything() {
    HealthProber prober = prober();
    for (int i = 0; i < 10; i++) {
      prober.add(target(i), probe(10));
    }
    prober.start();
    clock.forwardTime(INTERVAL);
    prober.close();
    int calls = checker.calls().size();
    clock.forwardTime(INTERVAL.multipliedBy(3));
    assertEquals(calls, checker.calls().size());
  }

  @Test
  void observer_everyResult_includingTimeoutsTheSweepRecorded() {
    List<String> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
    HealthProber prober =
        HealthProber.builder()
            .checker(checker)
            .scheduler(clock)
            .ticker(clock)
            .clock(clock)
            .seed(SEED)
            .observer((t, r) -> seen.add(t.address().getPort() + ":" + r.outcome()))
            .build();
    InetSocketAddress ok = target(0);
    InetSocketAddress hangs = target(1);
    prober.add(ok, probe(0));
    prober.add(hangs, probe(0));
    checker.hang(hangs);
    prober.start();
    clock.forwardTime(INTERVAL.multipliedBy(4));
    long passes = seen.stream().filter("8000:SUCCESS"::equals).count();
    long timeouts = seen.stream().filter("8001:TIMEOUT"::equals).count();
    assertEquals(checker.calls(ok).size(), passes, "every pass, not only state changes: " + seen);
    assertTrue(passes >= 3, "passes: " + passes);
    assertTrue(timeouts >= 3, "the sweep's timeouts are results too: " + seen);
    assertEquals(passes + timeouts, seen.size(), seen.toString());
  }
}
