package io.lb4j.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lb4j.Backend;
import io.lb4j.BackendHealth;
import io.lb4j.BackendPool;
import io.lb4j.FlowKey;
import io.lb4j.Frontend;
import io.lb4j.HealthEvent;
import io.lb4j.HealthOverride;
import io.lb4j.HealthProbe;
import io.lb4j.HealthState;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancerListener;
import io.lb4j.LoadBalancingRule;
import io.lb4j.NoHealthyBackendPolicy;
import io.lb4j.OutlierDetection;
import io.lb4j.ProbeOutcome;
import io.lb4j.ProbeResult;
import io.lb4j.Protocol;
import io.lb4j.Selection;
import io.lb4j.UnhealthyFlowPolicy;
import io.lb4j.testing.FakeClock;
import io.lb4j.testing.FakeHealthChecker;
import io.lb4j.testing.TestBackends;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Health wired into selection, under a fake clock and a scripted checker. */
class L4LoadBalancerHealthTest {
  private static final Duration INTERVAL = Duration.ofSeconds(5);
  private static final int FRONTEND = 0x7f000001;

  private final FakeClock clock = new FakeClock();
  private final FakeHealthChecker checker = new FakeHealthChecker(clock);
  private final List<HealthEvent> events = new ArrayList<>();
  private final List<String> ended = new ArrayList<>();
  private final List<String> probeResults = new ArrayList<>();
  private final List<String> ejections = new ArrayList<>();

  private static HealthProbe.Builder probe() {
    return HealthProbe.builder("tcp")
        .interval(INTERVAL)
        .timeout(Duration.ofSeconds(2))
        .healthyThreshold(2)
        .unhealthyThreshold(2)
        .jitterPercent(0);
  }

  private static LoadBalancingRule.Builder rule() {
    return LoadBalancingRule.builder("http")
        .frontend("fe")
        .frontendPort(80)
        .backendPool("web")
        .backendPort(8080)
        .probe("tcp");
  }

  private L4LoadBalancer balancer(LoadBalancingRule.Builder rule, HealthProbe.Builder probe) {
    LoadBalancerConfig config =
        LoadBalancerConfig.builder()
            .frontend(Frontend.of("fe", "127.0.0.1"))
            .pool(new BackendPool("web", TestBackends.loopback("web", 4)))
            .probe(probe.build())
            .rule(rule.build())
            .build();
    return balancer(config);
  }

  private L4LoadBalancer balancer(LoadBalancerConfig config) {
    L4LoadBalancer lb =
        L4LoadBalancer.builder()
            .config(config)
            .ticker(clock)
            .clock(clock)
            .maintenanceScheduler(clock)
            .probeScheduler(clock)
            .healthChecker(checker)
            .probeSeed(1)
            .build();
    lb.addListener(
        new LoadBalancerListener() {
          @Override
          public void onHealthChange(HealthEvent event) {
            events.add(event);
          }

          @Override
          public void onFlowsEnded(String rule, String backendId, List<FlowKey> flows, String why) {
            ended.add(rule + "/" + backendId + ": " + flows.size() + " flows, " + why);
          }

          @Override
          public void onProbeResult(String rule, String backendId, ProbeResult result) {
            synchronized (probeResults) {
              probeResults.add(rule + "/" + backendId + " " + result.outcome());
            }
          }

          @Override
          public void onEjection(String rule, String backendId, Duration duration) {
            ejections.add(rule + "/" + backendId + " " + duration);
          }
        });
    return lb;
  }

  /** Selects new flows until {@code n} of them went to {@code backend}; returns those. */
  private static List<FlowKey> selectOnto(L4LoadBalancer lb, String backend, int n) {
    List<FlowKey> on = new ArrayList<>();
    for (int i = 0; on.size() < n; i++) {
      if (lb.select(flow(i)).backend().id().equals(backend)) {
        on.add(flow(i));
      }
    }
    return on;
  }

  /** Makes {@code backend}'s probes time out and moves time until it is UNHEALTHY. */
  private void timeOutUntilUnhealthy(L4LoadBalancer lb, int backend) {
    checker.answer(target(backend), ProbeOutcome.TIMEOUT);
    while (lb.health("http", "web-" + backend).state() != HealthState.UNHEALTHY) {
      clock.forwardTime(Duration.ofMillis(100)); // until the second failure
    }
  }

  private static InetSocketAddress target(int backend) {
    return new InetSocketAddress("127.0.2." + (2 + backend), 8080);
  }

  private static FlowKey flow(int i) {
    return FlowKey.ipv4(0x7f000100 + i, 40000, FRONTEND, 80, Protocol.TCP);
  }

  private Set<String> newFlowBackends(L4LoadBalancer lb, int from, int count) {
    Set<String> seen = new HashSet<>();
    for (int i = from; i < from + count; i++) {
      Selection s = lb.pick(flow(i));
      if (s.isSelected()) {
        seen.add(s.backend().id());
      }
    }
    return seen;
  }

  @Test
  void select_beforeFirstProbe_noFlowsThenAllAfterIt() {
    L4LoadBalancer lb = balancer(rule(), probe());
    Selection s = lb.select(flow(1));
    assertEquals(Selection.Status.NO_AVAILABLE_BACKEND, s.status());
    assertEquals("http: pool 'web' has 4 backends, none available (4 not probed yet)", s.detail());
    clock.forwardTime(INTERVAL);
    assertEquals(Set.of("web-0", "web-1", "web-2", "web-3"), newFlowBackends(lb, 0, 400));
    assertEquals(4, events.size(), "UNKNOWN -> HEALTHY per backend: " + events);
    assertEquals(HealthState.HEALTHY, events.get(0).to());
    // a backend added later waits for its own first probe
    lb.addBackend("web", Backend.of("web-new", "127.0.3.1"));
    assertFalse(newFlowBackends(lb, 0, 400).contains("web-new"));
    assertEquals(HealthState.UNKNOWN, lb.health("http", "web-new").state());
    clock.forwardTime(INTERVAL);
    assertTrue(newFlowBackends(lb, 0, 400).contains("web-new"));
  }

  @Test
  void select_probeInitiallyHealthy_flowsAtOnce() {
    L4LoadBalancer lb = balancer(rule(), probe().initialState(HealthState.HEALTHY));
    assertTrue(lb.select(flow(1)).isSelected());
  }

  @Test
  void select_backendFailsProbes_leavesRotationKeepsFlows() {
    L4LoadBalancer lb = balancer(rule(), probe());
    clock.forwardTime(INTERVAL);
    List<FlowKey> onWeb1 = selectOnto(lb, "web-1", 5);
    checker.answer(target(1), ProbeOutcome.REFUSED);
    clock.forwardTime(INTERVAL);
    assertTrue(newFlowBackends(lb, 1000, 400).contains("web-1"), "1 failure < threshold 2");
    clock.forwardTime(INTERVAL);
    assertFalse(newFlowBackends(lb, 1000, 400).contains("web-1"));
    for (FlowKey f : onWeb1) {
      assertEquals("web-1", lb.select(f).backend().id(), "KEEP: established flows stay");
    }
    HealthEvent down = events.get(events.size() - 1);
    assertEquals("web-1", down.backendId());
    assertEquals(HealthState.UNHEALTHY, down.to());
    assertTrue(down.cause().startsWith("probe: 2 failures in a row, last "), down.cause());
    assertTrue(down.cause().contains("REFUSED"), down.cause());
    BackendHealth h = lb.health("http", "web-1");
    assertFalse(h.inRotation());
    assertEquals(ProbeOutcome.REFUSED, h.lastResult().outcome());
    assertEquals(3, h.recentResults().size());
    // recovery after healthyThreshold passes
    checker.answer(target(1), ProbeOutcome.SUCCESS);
    clock.forwardTime(INTERVAL.multipliedBy(2));
    assertTrue(newFlowBackends(lb, 1000, 400).contains("web-1"));
    assertTrue(ended.isEmpty());
  }

  @Test
  void select_closeAfterDrainTimeout_endsFlowsAtDeadline() {
    L4LoadBalancer lb =
        balancer(
            rule()
                .unhealthyFlowPolicy(UnhealthyFlowPolicy.CLOSE_AFTER_DRAIN_TIMEOUT)
                .drainTimeout(Duration.ofSeconds(30)),
            probe());
    clock.forwardTime(INTERVAL);
    List<FlowKey> onWeb2 = selectOnto(lb, "web-2", 3);
    timeOutUntilUnhealthy(lb, 2);
    java.time.Instant down = events.get(events.size() - 1).time();
    clock.forwardTime(Duration.between(clock.instant(), down.plusSeconds(29)));
    assertEquals(3, lb.activeFlows("http", "web-2"), "still draining");
    assertTrue(ended.isEmpty());
    clock.forwardTime(Duration.ofSeconds(1));
    assertEquals(0, lb.activeFlows("http", "web-2"));
    assertEquals(
        List.of("http/web-2: 3 flows, backend unhealthy for the rule's drain timeout (30s)"),
        ended);
    for (FlowKey f : onWeb2) {
      assertNotEquals("web-2", lb.select(f).backend().id(), "ended flows start over elsewhere");
    }
  }

  @Test
  void reconfigure_drainPolicyOnAlreadyUnhealthyBackend_armsTheDeadline() {
    L4LoadBalancer lb = balancer(rule(), probe()); // KEEP: flows of unhealthy backends stay
    clock.forwardTime(INTERVAL);
    List<FlowKey> onWeb2 = selectOnto(lb, "web-2", 3);
    timeOutUntilUnhealthy(lb, 2);
    clock.forwardTime(Duration.ofMinutes(2)); // less than the 4-minute idle timeout
    assertEquals(3, lb.activeFlows("http", "web-2"), "KEEP keeps them");
    LoadBalancerConfig c = lb.config();
    LoadBalancingRule r = c.loadBalancingRule("http");
    lb.reconfigure(
        c.withRule(
            r.toBuilder()
                .unhealthyFlowPolicy(UnhealthyFlowPolicy.CLOSE_AFTER_DRAIN_TIMEOUT)
                .drainTimeout(Duration.ofSeconds(30))
                .build()));
    clock.forwardTime(Duration.ofSeconds(29));
    assertEquals(3, lb.activeFlows("http", "web-2"), "the deadline runs from the reload");
    clock.forwardTime(Duration.ofSeconds(1));
    assertEquals(0, lb.activeFlows("http", "web-2"));
    assertEquals(
        List.of("http/web-2: 3 flows, backend unhealthy for the rule's drain timeout (30s)"),
        ended);
  }

  @Test
  void reconfigure_unrelatedChange_keepsAnArmedDeadline() {
    L4LoadBalancer lb =
        balancer(
            rule()
                .unhealthyFlowPolicy(UnhealthyFlowPolicy.CLOSE_AFTER_DRAIN_TIMEOUT)
                .drainTimeout(Duration.ofSeconds(30)),
            probe());
    clock.forwardTime(INTERVAL);
    selectOnto(lb, "web-2", 2);
    timeOutUntilUnhealthy(lb, 2);
    java.time.Instant down = events.get(events.size() - 1).time();
    clock.forwardTime(Duration.ofSeconds(20));
    lb.setWeight("web", "web-1", 3); // rebuilds the rule
    clock.forwardTime(Duration.between(clock.instant(), down.plusSeconds(30)));
    assertEquals(0, lb.activeFlows("http", "web-2"), "the deadline did not move");
  }

  @Test
  void reconfigure_firstProbeAddedLater_probesRun() {
    LoadBalancerConfig config =
        LoadBalancerConfig.builder()
            .frontend(Frontend.of("fe", "127.0.0.1"))
            .pool(new BackendPool("web", TestBackends.loopback("web", 4)))
            .rule(rule().noProbe().build())
            .build();
    L4LoadBalancer lb = balancer(config);
    checker.answer(target(2), ProbeOutcome.REFUSED);
    lb.reconfigure(config.toBuilder().probe(probe().build()).build().withRule(rule().build()));
    clock.forwardTime(INTERVAL.multipliedBy(3));
    assertEquals(HealthState.UNHEALTHY, lb.health("http", "web-2").state());
    assertEquals(4, lb.proberStats().targets());
  }

  @Test
  void select_recoveryBeforeDrainTimeout_keepsFlows() {
    L4LoadBalancer lb =
        balancer(
            rule()
                .unhealthyFlowPolicy(UnhealthyFlowPolicy.CLOSE_AFTER_DRAIN_TIMEOUT)
                .drainTimeout(Duration.ofSeconds(60)),
            probe());
    clock.forwardTime(INTERVAL);
    FlowKey f = null;
    for (int i = 0; f == null; i++) {
      if (lb.select(flow(i)).backend().id().equals("web-2")) {
        f = flow(i);
      }
    }
    checker.answer(target(2), ProbeOutcome.TIMEOUT);
    clock.forwardTime(INTERVAL.multipliedBy(2));
    checker.answer(target(2), ProbeOutcome.SUCCESS);
    clock.forwardTime(INTERVAL.multipliedBy(2)); // healthy again after 2 passes
    clock.forwardTime(Duration.ofSeconds(120));
    assertEquals("web-2", lb.select(f).backend().id());
    assertTrue(ended.isEmpty());
  }

  @Test
  void select_allUnhealthyFailClosed_refusesWithReason() {
    L4LoadBalancer lb = balancer(rule(), probe());
    for (int b = 0; b < 4; b++) {
      checker.answer(target(b), ProbeOutcome.REFUSED);
    }
    clock.forwardTime(INTERVAL.multipliedBy(2));
    Selection s = lb.select(flow(1));
    assertEquals(Selection.Status.NO_AVAILABLE_BACKEND, s.status());
    assertEquals("http: pool 'web' has 4 backends, none available (4 unhealthy)", s.detail());
  }

  @Test
  void select_allUnhealthyFailOpen_spreadsOverAll() {
    L4LoadBalancer lb =
        balancer(rule().noHealthyBackendPolicy(NoHealthyBackendPolicy.FAIL_OPEN), probe());
    for (int b = 0; b < 4; b++) {
      checker.answer(target(b), ProbeOutcome.REFUSED);
    }
    clock.forwardTime(INTERVAL.multipliedBy(2));
    assertEquals(Set.of("web-0", "web-1", "web-2", "web-3"), newFlowBackends(lb, 0, 400));
    // one healthy again: fail-open ends, it takes everything
    checker.answer(target(3), ProbeOutcome.SUCCESS);
    clock.forwardTime(INTERVAL.multipliedBy(2));
    assertEquals(Set.of("web-3"), newFlowBackends(lb, 0, 400));
  }

  @Test
  void select_panicThreshold_spreadsOverAllBelowIt() {
    L4LoadBalancer lb =
        balancer(
            rule().noHealthyBackendPolicy(NoHealthyBackendPolicy.PANIC).panicThresholdPercent(50),
            probe());
    clock.forwardTime(INTERVAL);
    checker.answer(target(0), ProbeOutcome.REFUSED);
    clock.forwardTime(INTERVAL.multipliedBy(2));
    // 3 of 4 healthy = 75% >= 50%: healthy only
    assertEquals(Set.of("web-1", "web-2", "web-3"), newFlowBackends(lb, 0, 400));
    checker.answer(target(1), ProbeOutcome.REFUSED);
    checker.answer(target(2), ProbeOutcome.REFUSED);
    clock.forwardTime(INTERVAL.multipliedBy(2));
    // 1 of 4 = 25% < 50%: panic, all four
    assertEquals(Set.of("web-0", "web-1", "web-2", "web-3"), newFlowBackends(lb, 0, 400));
    assertTrue(lb.health("http", "web-0").inRotation());
    assertEquals(HealthState.UNHEALTHY, lb.health("http", "web-0").state());
  }

  @Test
  void setHealthOverride_forceUpAndDown_overrideProbes() {
    L4LoadBalancer lb = balancer(rule(), probe());
    checker.answer(target(0), ProbeOutcome.REFUSED);
    clock.forwardTime(INTERVAL.multipliedBy(2));
    assertFalse(newFlowBackends(lb, 0, 400).contains("web-0"));
    lb.setHealthOverride("web", "web-0", HealthOverride.FORCE_UP);
    assertTrue(newFlowBackends(lb, 0, 400).contains("web-0"));
    assertEquals(HealthState.HEALTHY, lb.health("http", "web-0").state());
    assertEquals("health override FORCE_UP", events.get(events.size() - 1).cause());
    lb.setHealthOverride("web", "web-1", HealthOverride.FORCE_DOWN);
    assertFalse(newFlowBackends(lb, 0, 400).contains("web-1"));
    lb.setHealthOverride("web", "web-0", HealthOverride.FOLLOW_PROBE);
    lb.setHealthOverride("web", "web-1", HealthOverride.FOLLOW_PROBE);
    assertEquals(Set.of("web-1", "web-2", "web-3"), newFlowBackends(lb, 0, 400));
  }

  @Test
  void reportConnectFailure_afterThreshold_ejectsThenReturnsWithNextPassingProbe() {
    L4LoadBalancer lb = balancer(rule(), probe());
    clock.forwardTime(INTERVAL);
    for (int i = 0; i < 4; i++) {
      lb.reportConnectFailure("http", "web-2");
    }
    clock.runDueTasks();
    assertTrue(newFlowBackends(lb, 0, 400).contains("web-2"), "4 failures < 5");
    lb.reportConnectFailure("http", "web-2");
    clock.runDueTasks();
    BackendHealth h = lb.health("http", "web-2");
    assertTrue(h.isEjected());
    assertEquals(clock.instant().plusSeconds(30), h.ejectedUntil());
    assertFalse(newFlowBackends(lb, 0, 400).contains("web-2"));
    assertEquals(
        "passive: 5 connect failures in a row; ejected for 30s (ejection 1)",
        events.get(events.size() - 1).cause());
    clock.forwardTime(Duration.ofSeconds(30));
    // back-off over; still out until a probe passes (probes every 5 s)
    assertTrue(lb.health("http", "web-2").isEjected());
    clock.forwardTime(INTERVAL);
    assertFalse(lb.health("http", "web-2").isEjected());
    assertTrue(newFlowBackends(lb, 0, 400).contains("web-2"));
    assertEquals(0, lb.health("http", "web-2").consecutiveConnectFailures());
    // ejected again soon after: twice as long
    for (int i = 0; i < 5; i++) {
      lb.reportConnectFailure("http", "web-2");
    }
    clock.runDueTasks();
    assertEquals(clock.instant().plusSeconds(60), lb.health("http", "web-2").ejectedUntil());
  }

  @Test
  void reportConnectFailure_noProbe_returnsWhenBackOffEnds() {
    L4LoadBalancer lb = balancer(rule().noProbe(), probe());
    for (int i = 0; i < 5; i++) {
      lb.reportConnectFailure("http", "web-3");
    }
    clock.runDueTasks();
    assertFalse(newFlowBackends(lb, 0, 400).contains("web-3"));
    clock.forwardTime(Duration.ofSeconds(30));
    assertTrue(newFlowBackends(lb, 0, 400).contains("web-3"));
    assertNull(lb.health("http", "web-3").ejectedUntil());
  }

  @Test
  void reportConnectFailure_successResetsTheRun() {
    L4LoadBalancer lb = balancer(rule().noProbe(), probe());
    for (int i = 0; i < 4; i++) {
      lb.reportConnectFailure("http", "web-3");
    }
    lb.reportConnectSuccess("http", "web-3");
    lb.reportConnectFailure("http", "web-3");
    clock.runDueTasks();
    assertFalse(lb.health("http", "web-3").isEjected());
    assertEquals(1, lb.health("http", "web-3").consecutiveConnectFailures());
    lb.reportConnectFailure("http", "nobody"); // unknown backends are ignored
    lb.reportConnectFailure("nothing", "web-3");
  }

  @Test
  void reportConnectFailure_maxEjectionPercent_leavesTheRest() {
    L4LoadBalancer lb =
        balancer(
            rule()
                .noProbe()
                .outlierDetection(
                    new OutlierDetection(3, Duration.ofSeconds(30), Duration.ofSeconds(300), 50)),
            probe());
    for (int b = 0; b < 4; b++) {
      for (int i = 0; i < 3; i++) {
        lb.reportConnectFailure("http", "web-" + b);
      }
    }
    clock.runDueTasks();
    int ejected = 0;
    for (int b = 0; b < 4; b++) {
      ejected += lb.health("http", "web-" + b).isEjected() ? 1 : 0;
    }
    assertEquals(2, ejected, "50% of 4");
  }

  @Test
  void reportConnectFailure_ejectionWouldLeaveNothing_ejectedBackendsKeepServing() {
    L4LoadBalancer lb =
        balancer(
            rule()
                .noProbe()
                .outlierDetection(
                    new OutlierDetection(1, Duration.ofSeconds(30), Duration.ofSeconds(300), 100)),
            probe());
    for (int b = 0; b < 4; b++) {
      lb.reportConnectFailure("http", "web-" + b);
      clock.runDueTasks();
    }
    for (int b = 0; b < 4; b++) {
      assertTrue(lb.health("http", "web-" + b).isEjected(), "web-" + b);
    }
    // without passive health all four would serve: with it, they still do rather than none
    assertEquals(Set.of("web-0", "web-1", "web-2", "web-3"), newFlowBackends(lb, 0, 400));
    lb.setHealthOverride("web", "web-0", HealthOverride.FORCE_DOWN);
    assertFalse(newFlowBackends(lb, 0, 400).contains("web-0"), "an override is not an ejection");
  }

  @Test
  void reselect_rotationTried_fallsBackToEjectedBackendsWhoseProbePasses() {
    L4LoadBalancer lb =
        balancer(
            rule()
                .outlierDetection(
                    new OutlierDetection(1, Duration.ofSeconds(30), Duration.ofSeconds(300), 50)),
            probe());
    clock.forwardTime(INTERVAL.multipliedBy(2)); // every probe passes twice: all healthy
    checker.answer(target(1), ProbeOutcome.REFUSED);
    lb.reportConnectFailure("http", "web-0");
    clock.runDueTasks();
    lb.reportConnectFailure("http", "web-1");
    clock.runDueTasks();
    lb.reportConnectFailure("http", "web-2"); // 2 of 4 ejected: the cap holds web-2 in rotation
    clock.runDueTasks();
    clock.forwardTime(INTERVAL.multipliedBy(2)); // web-1's probe fails twice as well
    assertTrue(lb.health("http", "web-0").isEjected());
    assertTrue(lb.health("http", "web-1").isEjected());
    assertFalse(lb.health("http", "web-2").isEjected());
    assertEquals(Set.of("web-2", "web-3"), newFlowBackends(lb, 0, 400));
    FlowKey f = flow(7);
    String[] tried = {"web-2", "web-3", null, null};
    Selection third = lb.reselect(f, 2, tried, 2);
    assertEquals("web-0", third.backend().id(), "ejected, probe passing: the last resort");
    assertEquals("web-0", lb.select(f).backend().id(), "pinned");
    tried[2] = "web-0";
    Selection fourth = lb.reselect(f, 3, tried, 3);
    assertEquals(Selection.Status.NO_AVAILABLE_BACKEND, fourth.status(), fourth.toString());
    assertEquals(
        "http: the flow tried every candidate for a retry (3 in rotation or ejected only)",
        fourth.detail(),
        "web-1 fails its probe: not a candidate");
    assertEquals(0, lb.activeFlows(), "a refused retry leaves no flow behind");
    assertEquals(
        "triedCount: 5 (expected: 0-4)",
        org.junit.jupiter.api.Assertions.assertThrows(
                IllegalArgumentException.class, () -> lb.reselect(f, 1, tried, 5))
            .getMessage());
  }

  @Test
  void probes_twoRulesShareOneTarget_probedOncePerInterval() {
    LoadBalancerConfig config =
        LoadBalancerConfig.builder()
            .frontend(Frontend.of("fe", "127.0.0.1"))
            .pool(new BackendPool("web", TestBackends.loopback("web", 2)))
            .probe(probe().build())
            .rule(rule().build())
            .rule(
                LoadBalancingRule.builder("http-alt")
                    .frontend("fe")
                    .frontendPort(81)
                    .backendPool("web")
                    .backendPort(8080)
                    .probe("tcp")
                    .build())
            .build();
    L4LoadBalancer lb =
        L4LoadBalancer.builder()
            .config(config)
            .ticker(clock)
            .clock(clock)
            .probeScheduler(clock)
            .healthChecker(checker)
            .probeSeed(1)
            .build();
    clock.forwardTime(INTERVAL.multipliedBy(4));
    assertEquals(4, checker.calls(target(0)).size());
    assertEquals(HealthState.HEALTHY, lb.health("http-alt", "web-0").state());
    checker.answer(target(0), ProbeOutcome.REFUSED);
    clock.forwardTime(INTERVAL.multipliedBy(2));
    assertEquals(HealthState.UNHEALTHY, lb.health("http", "web-0").state());
    assertEquals(HealthState.UNHEALTHY, lb.health("http-alt", "web-0").state());
  }

  @Test
  void removeBackend_stopsItsProbes() {
    L4LoadBalancer lb = balancer(rule(), probe());
    clock.forwardTime(INTERVAL);
    lb.removeBackend("web", "web-0");
    int calls = checker.calls(target(0)).size();
    clock.forwardTime(INTERVAL.multipliedBy(3));
    assertEquals(calls, checker.calls(target(0)).size());
    lb.close();
    int all = checker.calls().size();
    clock.forwardTime(INTERVAL.multipliedBy(3));
    assertEquals(all, checker.calls().size(), "close stops probing");
  }

  /** Counts the probe results told so far that equal {@code line}. */
  private long told(String line) {
    synchronized (probeResults) {
      return probeResults.stream().filter(line::equals).count();
    }
  }

  @Test
  void onProbeResult_everyResult_toldPerRuleSharingTheProbe() {
    LoadBalancerConfig config =
        LoadBalancerConfig.builder()
            .frontend(Frontend.of("fe", "127.0.0.1"))
            .pool(new BackendPool("web", TestBackends.loopback("web", 2)))
            .probe(probe().build())
            .rule(rule().build())
            .rule(
                LoadBalancingRule.builder("http-alt")
                    .frontend("fe")
                    .frontendPort(81)
                    .backendPool("web")
                    .backendPort(8080)
                    .probe("tcp")
                    .build())
            .build();
    L4LoadBalancer lb = balancer(config);
    checker.answer(target(1), ProbeOutcome.REFUSED);
    clock.forwardTime(INTERVAL.multipliedBy(3));
    // one probe per target and interval (the rules share it), told once per rule, failures too
    assertEquals(3, checker.calls(target(0)).size());
    assertEquals(3, checker.calls(target(1)).size());
    assertEquals(3, told("http/web-0 SUCCESS"), probeResults.toString());
    assertEquals(3, told("http-alt/web-0 SUCCESS"), probeResults.toString());
    assertEquals(3, told("http/web-1 REFUSED"), probeResults.toString());
    assertEquals(3, told("http-alt/web-1 REFUSED"), probeResults.toString());
    assertEquals(12, probeResults.size(), "results that changed nothing are told as well");
    // a removed backend is no longer told
    lb.removeBackend("web", "web-1");
    probeResults.clear();
    clock.forwardTime(INTERVAL.multipliedBy(2));
    assertEquals(0, told("http/web-1 REFUSED") + told("http-alt/web-1 REFUSED"));
    assertEquals(2, told("http/web-0 SUCCESS"), probeResults.toString());
  }

  @Test
  void onProbeResult_listenerThrows_probingGoesOn() {
    L4LoadBalancer lb = balancer(rule(), probe());
    lb.addListener(
        new LoadBalancerListener() {
          @Override
          public void onProbeResult(String rule, String backendId, ProbeResult result) {
            throw new IllegalStateException("listener bug");
          }
        });
    clock.forwardTime(INTERVAL.multipliedBy(2));
    assertEquals(2, told("http/web-0 SUCCESS"), "the other listener still hears every result");
    assertEquals(HealthState.HEALTHY, lb.health("http", "web-0").state());
  }

  @Test
  void onEjection_afterThreshold_toldOnceWithDuration_notWhenTheCapRefuses() {
    L4LoadBalancer lb =
        balancer(
            rule()
                .noProbe()
                .outlierDetection(
                    new OutlierDetection(3, Duration.ofSeconds(30), Duration.ofSeconds(300), 25)),
            probe());
    for (int i = 0; i < 3; i++) {
      lb.reportConnectFailure("http", "web-0");
    }
    clock.runDueTasks();
    assertEquals(List.of("http/web-0 PT30S"), ejections);
    HealthEvent down = events.get(events.size() - 1);
    assertEquals(HealthState.UNHEALTHY, down.to(), "the health change came with it");
    for (int i = 0; i < 3; i++) {
      lb.reportConnectFailure("http", "web-1"); // 1 of 4 ejected already: 25% refuses a second
    }
    clock.runDueTasks();
    assertFalse(lb.health("http", "web-1").isEjected());
    assertEquals(List.of("http/web-0 PT30S"), ejections, "a refused ejection is not told");
    clock.forwardTime(Duration.ofSeconds(30)); // no probe: back when the back-off ends
    for (int i = 0; i < 3; i++) {
      lb.reportConnectFailure("http", "web-0");
    }
    clock.runDueTasks();
    assertEquals(List.of("http/web-0 PT30S", "http/web-0 PT1M"), ejections, "twice as long");
  }

  @Test
  void builderListener_registeredBeforeTheFirstProbe_hearsItsResultAndEvent() {
    List<String> heard = new ArrayList<>();
    // a scheduler that runs the first probe as soon as it is scheduled, inside build()
    L4LoadBalancer lb =
        L4LoadBalancer.builder()
            .config(
                LoadBalancerConfig.builder()
                    .frontend(Frontend.of("fe", "127.0.0.1"))
                    .pool(new BackendPool("web", TestBackends.loopback("web", 1)))
                    .probe(probe().healthyThreshold(1).build())
                    .rule(rule().build())
                    .build())
            .ticker(clock)
            .clock(clock)
            .maintenanceScheduler(clock)
            .probeScheduler(new RunAtOnce(clock))
            .healthChecker(checker)
            .probeSeed(1)
            .listener(
                new LoadBalancerListener() {
                  @Override
                  public void onHealthChange(HealthEvent event) {
                    heard.add(event.toString().substring(0, event.toString().indexOf(" (")));
                  }

                  @Override
                  public void onProbeResult(String rule, String backendId, ProbeResult result) {
                    heard.add(rule + "/" + backendId + " " + result.outcome());
                  }
                })
            .build();
    assertEquals(
        List.of("http/web-0 SUCCESS", "http/web-0: UNKNOWN -> HEALTHY"),
        heard,
        "probed during build(): only a listener given to the builder hears it");
    lb.close();
  }

  /**
   * A scheduler that runs a task due within the first interval (the first probe) and every
   * immediate task at once on the calling thread; later ones go to the fake clock.
   */
  private static final class RunAtOnce extends java.util.concurrent.ScheduledThreadPoolExecutor {
    private final FakeClock clock;

    RunAtOnce(FakeClock clock) {
      super(0);
      this.clock = clock;
    }

    @Override
    public java.util.concurrent.ScheduledFuture<?> schedule(
        Runnable task, long delay, java.util.concurrent.TimeUnit unit) {
      if (delay > 0 && unit.toNanos(delay) < INTERVAL.toNanos()) {
        task.run(); // the first probe, at a random point of the first interval: now
        return clock.schedule(() -> {}, 0, unit);
      }
      return clock.schedule(task, delay, unit);
    }

    @Override
    public java.util.concurrent.ScheduledFuture<?> scheduleAtFixedRate(
        Runnable task, long delay, long period, java.util.concurrent.TimeUnit unit) {
      return clock.scheduleAtFixedRate(task, delay, period, unit);
    }

    @Override
    public void execute(Runnable task) {
      task.run();
    }
  }
}
