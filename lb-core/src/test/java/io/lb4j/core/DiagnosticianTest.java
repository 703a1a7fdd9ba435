package io.lb4j.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lb4j.AdminState;
import io.lb4j.Diagnosis;
import io.lb4j.DistributionMode;
import io.lb4j.Finding;
import io.lb4j.Finding.Check;
import io.lb4j.Finding.Severity;
import io.lb4j.FlowExplanation;
import io.lb4j.FlowExplanation.Candidate;
import io.lb4j.FlowExplanation.Exclusion;
import io.lb4j.FlowKey;
import io.lb4j.HealthProbe;
import io.lb4j.LoadBalancingRule;
import io.lb4j.OutlierDetection;
import io.lb4j.ProbeOutcome;
import io.lb4j.Protocol;
import io.lb4j.SelectionPolicy;
import io.lb4j.testing.FakeClock;
import io.lb4j.testing.FakeHealthChecker;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * explain() and diagnose() against a fake prober and checker: every exclusion reason, and each
 * finding's trigger and its absence. The same findings from real sockets are in the adapter's
 * DiagnosticsScenarioTest.
 */
class DiagnosticianTest {
  private static final Duration INTERVAL = Duration.ofSeconds(5);
  private static final int FRONTEND = 0x7f000001;

  private final DiagnosisFixture fixture = new DiagnosisFixture();
  private final FakeClock clock = fixture.clock;
  private final FakeHealthChecker checker = fixture.checker;

  private static HealthProbe.Builder probe() {
    return DiagnosisFixture.probe();
  }

  private static LoadBalancingRule.Builder rule() {
    return DiagnosisFixture.rule();
  }

  private L4LoadBalancer balancer(LoadBalancingRule.Builder rule, HealthProbe.Builder probe) {
    return fixture.balancer(rule, probe);
  }

  private static InetSocketAddress target(int backend) {
    return new InetSocketAddress("127.0.2." + (2 + backend), 8080);
  }

  private void allAnswer(ProbeOutcome outcome) {
    for (int b = 0; b < 4; b++) {
      checker.answer(target(b), outcome);
    }
  }

  private static FlowKey flow(int client, int port) {
    return FlowKey.ipv4(0x7f640000 + client, port, FRONTEND, 80, Protocol.TCP); // 127.100.x.x
  }

  private static Map<String, Candidate> byId(FlowExplanation e) {
    return e.candidates().stream().collect(Collectors.toMap(Candidate::backendId, c -> c));
  }

  // ---------------------------------------------------------------- explain

  @Test
  void explain_newFlow_freshPickWithHashedFieldsAndNothingRecorded() {
    allAnswer(ProbeOutcome.SUCCESS);
    L4LoadBalancer lb = balancer(rule(), probe());
    FlowExplanation e = lb.explain(flow(1, 40000));
    assertEquals("http", e.rule());
    assertEquals(DistributionMode.FIVE_TUPLE, e.mode());
    assertEquals(
        List.of(
            "source 127.100.0.1",
            "source port 40000",
            "destination 127.0.0.1",
            "destination port 80",
            "protocol TCP"),
        e.hashedFields());
    assertEquals(io.lb4j.SelectionAlgorithm.MAGLEV, e.algorithm());
    assertFalse(e.fromFlowTable());
    assertEquals(lb.pick(flow(1, 40000)), e.selection());
    assertEquals(4, e.candidates().size());
    assertTrue(e.excluded().isEmpty(), e.toString());
    assertEquals(0, lb.activeFlows(), "explain recorded the flow");
    assertTrue(
        e.toString().contains("fresh pick: the flow is not in the flow table"), e.toString());
  }

  @Test
  void explain_sourceIpMode_hashesAddressesOnly() {
    allAnswer(ProbeOutcome.SUCCESS);
    L4LoadBalancer lb = balancer(rule().distributionMode(DistributionMode.SOURCE_IP), probe());
    assertEquals(
        List.of("source 127.100.0.1", "destination 127.0.0.1"),
        lb.explain(flow(1, 40000)).hashedFields());
  }

  @Test
  void explain_existingFlowOnDrainingBackend_fromFlowTableWithNewFlowAnswer() {
    allAnswer(ProbeOutcome.SUCCESS);
    L4LoadBalancer lb = balancer(rule(), probe());
    FlowKey f = flow(1, 40000);
    String first = lb.select(f).backend().id();
    lb.setAdminState("web", first, AdminState.DRAINING);
    FlowExplanation e = lb.explain(f);
    assertTrue(e.fromFlowTable());
    assertEquals(first, e.selection().backend().id());
    assertFalse(first.equals(e.freshPick().backend().id()), "a new flow would avoid the drain");
    Candidate c = byId(e).get(first);
    assertEquals(Exclusion.DRAINING, c.exclusion());
    assertEquals(1, c.activeFlows());
    assertTrue(e.toString().contains("existing flow, from the flow table; a new flow would get"));
  }

  @Test
  void explain_everyExclusionReason_namedWithItsEvidence() {
    L4LoadBalancer lb =
        balancer(
            rule()
                .outlierDetection(
                    new OutlierDetection(1, Duration.ofSeconds(30), Duration.ofSeconds(300), 100)),
            probe());
    allAnswer(ProbeOutcome.SUCCESS);
    // web-4 stays in rotation: were web-3 the last backend to serve, ejection would not take it out
    lb.addBackend("web", io.lb4j.Backend.of("web-4", "127.0.2.6"));
    checker.answer(target(4), ProbeOutcome.SUCCESS);
    checker.answer(target(0), ProbeOutcome.REFUSED);
    clock.forwardTime(INTERVAL.multipliedBy(2)); // web-0 fails twice: unhealthy
    lb.setAdminState("web", "web-1", AdminState.DISABLED);
    lb.setWeight("web", "web-2", 0);
    lb.reportConnectFailure("http", "web-3"); // one failure ejects
    clock.runDueTasks();
    Map<String, Candidate> c = byId(lb.explain(flow(1, 40000)));
    assertEquals(Exclusion.UNHEALTHY, c.get("web-0").exclusion());
    assertTrue(c.get("web-0").detail().contains("REFUSED"), c.get("web-0").detail());
    assertEquals(Exclusion.DISABLED, c.get("web-1").exclusion());
    assertEquals(Exclusion.WEIGHT_ZERO, c.get("web-2").exclusion());
    assertEquals(Exclusion.EJECTED, c.get("web-3").exclusion());
    assertTrue(c.get("web-3").detail().startsWith("passive:"), c.get("web-3").detail());
  }

  @Test
  void explain_removedBackendWithFlows_listedAsRemoved() {
    allAnswer(ProbeOutcome.SUCCESS);
    L4LoadBalancer lb = balancer(rule(), probe());
    FlowKey f = flow(1, 40000);
    String id = lb.select(f).backend().id();
    lb.removeBackend("web", id);
    FlowExplanation e = lb.explain(f);
    assertEquals(Exclusion.REMOVED, byId(e).get(id).exclusion());
    assertTrue(e.fromFlowTable());
    assertEquals(id, e.selection().backend().id());
  }

  @Test
  void explain_boundedLoadBackendAtItsBound_full() {
    allAnswer(ProbeOutcome.SUCCESS);
    L4LoadBalancer lb =
        balancer(rule().selection(SelectionPolicy.maglev(65537).withBoundedLoad(1.1)), probe());
    // load web-x up to its bound through flows that hash to it
    FlowKey probeFlow = flow(999, 40000);
    String hot = lb.pick(probeFlow).backend().id();
    int placed = 0;
    for (int i = 0; placed < 20 && i < 10_000; i++) {
      FlowKey f = flow(i, 50000);
      if (lb.pick(f).backend().id().equals(hot)) {
        lb.select(f);
        placed++;
      }
    }
    Candidate c = byId(lb.explain(probeFlow)).get(hot);
    assertEquals(Exclusion.FULL, c.exclusion(), c.toString());
    assertTrue(c.detail().contains("its bound for the next new flow is"), c.detail());
  }

  @Test
  void explain_noRule_saysWhichRulesListenAndTheNearMiss() {
    allAnswer(ProbeOutcome.SUCCESS);
    L4LoadBalancer lb = balancer(rule(), probe());
    FlowExplanation e = lb.explain(FlowKey.ipv4(0x7f000109, 40000, FRONTEND, 81, Protocol.TCP));
    assertNull(e.rule());
    assertEquals(
        "no rule listens on 127.0.0.1:81/TCP; nearly: http listens on port 80, not 81; rules:"
            + " http on 127.0.0.1:80/TCP",
        e.ruleDescription());
    FlowExplanation udp = lb.explain(FlowKey.ipv4(0x7f000109, 40000, FRONTEND, 80, Protocol.UDP));
    assertTrue(udp.ruleDescription().contains("http listens on port 80 but for TCP"));
  }

  // ---------------------------------------------------------------- diagnose

  private static List<Finding> of(Diagnosis d, Check check) {
    return d.of(check);
  }

  @Test
  void diagnose_healthyWellConfigured_noWarnings() {
    allAnswer(ProbeOutcome.SUCCESS);
    L4LoadBalancer lb = balancer(rule(), probe());
    clock.forwardTime(INTERVAL);
    for (int i = 0; i < 400; i++) {
      lb.select(flow(i, 40000 + i));
    }
    Diagnosis d = lb.diagnose();
    assertEquals(List.of(), d.atLeast(Severity.INFO), d.toString());
    assertTrue(d.checksRun() > 10, d.toString());
    assertTrue(d.toString().contains("no findings"));
  }

  @Test
  void diagnose_probeRefused_criticalWithResultsAndFix() {
    allAnswer(ProbeOutcome.SUCCESS);
    checker.answer(target(2), ProbeOutcome.REFUSED);
    L4LoadBalancer lb = balancer(rule(), probe());
    clock.forwardTime(INTERVAL.multipliedBy(2));
    List<Finding> f = of(lb.diagnose(), Check.PROBE_FAILING);
    assertEquals(1, f.size(), f.toString());
    assertEquals(Severity.CRITICAL, f.get(0).severity());
    assertEquals("web-2", f.get(0).backend());
    assertTrue(f.get(0).what().contains("nothing listens on port 8080"), f.get(0).what());
    assertTrue(f.get(0).evidence().stream().anyMatch(e -> e.contains("REFUSED")));
    assertTrue(f.get(0).fix().startsWith("start the service on port 8080"));
  }

  @Test
  void diagnose_probeFailedOnce_warningNotYetUnhealthy() {
    allAnswer(ProbeOutcome.SUCCESS);
    L4LoadBalancer lb = balancer(rule(), probe());
    clock.forwardTime(INTERVAL);
    checker.answer(target(1), ProbeOutcome.TIMEOUT);
    clock.forwardTime(INTERVAL);
    List<Finding> f = of(lb.diagnose(), Check.PROBE_FAILING);
    assertEquals(1, f.size(), f.toString());
    assertEquals(Severity.WARNING, f.get(0).severity());
    assertTrue(f.get(0).what().endsWith("(not unhealthy yet)"), f.get(0).what());
    assertTrue(f.get(0).fix().contains("firewall"), f.get(0).fix());
  }

  @Test
  void diagnose_separateProbePortPassesDataPortRefuses_dataPortRefused() {
    for (int b = 0; b < 4; b++) {
      checker.answer(new InetSocketAddress("127.0.2." + (2 + b), 9000), ProbeOutcome.SUCCESS);
      checker.answer(target(b), b == 3 ? ProbeOutcome.REFUSED : ProbeOutcome.SUCCESS);
    }
    L4LoadBalancer lb = balancer(rule(), probe().port(9000));
    clock.forwardTime(INTERVAL);
    Diagnosis d = lb.diagnose();
    List<Finding> f = of(d, Check.DATA_PORT_REFUSED);
    assertEquals(1, f.size(), d.toString());
    assertEquals("web-3", f.get(0).backend());
    assertTrue(
        f.get(0).what().contains("healthy by its probe on port 9000, but data port 8080 refuses"),
        f.get(0).what());
    assertEquals(List.of(), of(d, Check.BACKEND_PORT_CLOSED_EVERYWHERE));
  }

  @Test
  void diagnose_backendPortClosedEverywhereProbePortOpen_typoHint() {
    for (int b = 0; b < 4; b++) {
      checker.answer(new InetSocketAddress("127.0.2." + (2 + b), 1433), ProbeOutcome.SUCCESS);
      checker.answer(new InetSocketAddress("127.0.2." + (2 + b), 1443), ProbeOutcome.REFUSED);
    }
    L4LoadBalancer lb = balancer(rule().backendPort(1443), probe().port(1433));
    clock.forwardTime(INTERVAL);
    Diagnosis d = lb.diagnose();
    List<Finding> f = of(d, Check.BACKEND_PORT_CLOSED_EVERYWHERE);
    assertEquals(1, f.size(), d.toString());
    assertEquals(Severity.CRITICAL, f.get(0).severity());
    assertTrue(f.get(0).fix().contains("is it a typo (for example 1443 for 1433)?"));
    assertEquals(List.of(), of(d, Check.DATA_PORT_REFUSED), "folded into the rule-wide finding");
  }

  @Test
  void diagnose_sourceIpWithOneDominantSource_unevenWithSourceCause() {
    allAnswer(ProbeOutcome.SUCCESS);
    L4LoadBalancer lb = balancer(rule().distributionMode(DistributionMode.SOURCE_IP), probe());
    clock.forwardTime(INTERVAL);
    for (int i = 0; i < 800; i++) {
      lb.select(flow(7, 10000 + i)); // one client behind a NAT
    }
    for (int i = 0; i < 200; i++) {
      lb.select(flow(8 + i, 40000));
    }
    List<Finding> f = of(lb.diagnose(), Check.UNEVEN_DISTRIBUTION);
    assertEquals(1, f.size(), f.toString());
    assertEquals(Severity.WARNING, f.get(0).severity());
    assertTrue(
        f.get(0).what().contains("one source address, 127.100.0.7, opens 80% of them"),
        f.get(0).what());
  }

  @Test
  void diagnose_sourceIpWithFewClients_unevenWithPersistenceCause() {
    allAnswer(ProbeOutcome.SUCCESS);
    L4LoadBalancer lb = balancer(rule().distributionMode(DistributionMode.SOURCE_IP), probe());
    clock.forwardTime(INTERVAL);
    for (int i = 0; i < 300; i++) {
      lb.select(flow(i % 3, 10000 + i)); // three clients, 100 flows each
    }
    List<Finding> f = of(lb.diagnose(), Check.UNEVEN_DISTRIBUTION);
    assertEquals(1, f.size(), f.toString());
    assertTrue(f.get(0).what().contains("client-IP persistence (SOURCE_IP) with only 3"));
  }

  @Test
  void diagnose_backendOutOfRotation_unevenWithOutOfRotationCause() {
    allAnswer(ProbeOutcome.SUCCESS);
    checker.answer(target(0), ProbeOutcome.REFUSED);
    L4LoadBalancer lb = balancer(rule(), probe());
    clock.forwardTime(INTERVAL.multipliedBy(2));
    for (int i = 0; i < 400; i++) {
      lb.select(flow(i, 40000));
    }
    List<Finding> f = of(lb.diagnose(), Check.UNEVEN_DISTRIBUTION);
    assertEquals(1, f.size(), f.toString());
    assertTrue(f.get(0).what().contains("1 of 4 backends are out of rotation (web-0 UNHEALTHY)"));
  }

  @Test
  void diagnose_roundRobinUnevenFromOneSource_sourceNotBlamed() {
    allAnswer(ProbeOutcome.SUCCESS);
    checker.answer(target(0), ProbeOutcome.REFUSED);
    L4LoadBalancer lb = balancer(rule().algorithm(io.lb4j.SelectionAlgorithm.ROUND_ROBIN), probe());
    clock.forwardTime(INTERVAL.multipliedBy(2)); // web-0 leaves rotation
    for (int i = 0; i < 400; i++) {
      lb.select(flow(7, 10000 + i)); // one client behind a NAT
    }
    checker.answer(target(0), ProbeOutcome.SUCCESS);
    clock.forwardTime(INTERVAL); // web-0 is back, with none of the window's flows
    List<Finding> f = of(lb.diagnose(), Check.UNEVEN_DISTRIBUTION);
    assertEquals(1, f.size(), f.toString());
    assertFalse(f.get(0).what().contains("source address"), f.get(0).what());
    assertTrue(f.get(0).what().contains("ROUND_ROBIN ignores the source"), f.get(0).what());
    assertTrue(
        f.get(0).evidence().contains("ROUND_ROBIN ignores the source address and port"),
        f.get(0).evidence().toString());
  }

  @Test
  void diagnose_multiConnectionProtocolWithRoundRobin_fixNamesAHash() {
    allAnswer(ProbeOutcome.SUCCESS);
    L4LoadBalancer lb =
        balancer(
            rule()
                .frontendPort(21)
                .backendPort(21)
                .distributionMode(DistributionMode.SOURCE_IP)
                .algorithm(io.lb4j.SelectionAlgorithm.ROUND_ROBIN),
            probe());
    clock.forwardTime(INTERVAL);
    Finding f = of(lb.diagnose(), Check.MULTI_CONNECTION_PROTOCOL).get(0);
    assertTrue(f.what().contains("with ROUND_ROBIN, which ignores the client"), f.what());
    assertTrue(f.fix().contains("consistent hash (MAGLEV) with SOURCE_IP"), f.fix());
  }

  @Test
  void diagnose_unequalWeights_infoOnly() {
    allAnswer(ProbeOutcome.SUCCESS);
    L4LoadBalancer lb = balancer(rule(), probe());
    lb.setWeight("web", "web-0", 4);
    clock.forwardTime(INTERVAL);
    for (int i = 0; i < 700; i++) {
      lb.select(flow(i, 40000));
    }
    Diagnosis d = lb.diagnose();
    assertEquals(List.of(), d.atLeast(Severity.WARNING), d.toString());
    assertEquals(Severity.INFO, of(d, Check.UNEVEN_DISTRIBUTION).get(0).severity());
  }

  @Test
  void diagnose_flowsOnRemovedAndUnhealthyBackends_countedWithUntilWhen() {
    allAnswer(ProbeOutcome.SUCCESS);
    L4LoadBalancer lb =
        balancer(
            rule()
                .unhealthyFlowPolicy(io.lb4j.UnhealthyFlowPolicy.CLOSE_AFTER_DRAIN_TIMEOUT)
                .drainTimeout(Duration.ofSeconds(60)),
            probe());
    clock.forwardTime(INTERVAL);
    Map<String, List<FlowKey>> flows =
        java.util.stream.IntStream.range(0, 100)
            .mapToObj(i -> flow(i, 40000))
            .collect(Collectors.groupingBy(f -> lb.select(f).backend().id()));
    lb.removeBackend("web", "web-0");
    checker.answer(target(1), ProbeOutcome.REFUSED);
    clock.forwardTime(INTERVAL.multipliedBy(2));
    Map<String, Finding> f =
        of(lb.diagnose(), Check.FLOWS_ON_OUT_OF_ROTATION_BACKEND).stream()
            .collect(Collectors.toMap(Finding::backend, Function.identity()));
    assertEquals(2, f.size(), f.toString());
    assertTrue(
        f.get("web-0")
            .what()
            .equals(
                "backend web-0 was removed from the pool but still carries "
                    + flows.get("web-0").size()
                    + " flows"),
        f.get("web-0").what());
    assertTrue(f.get("web-1").evidence().get(0).contains("CLOSE_AFTER_DRAIN_TIMEOUT"));
    assertTrue(
        f.get("web-0").evidence().get(0).contains("CLOSE_AFTER_DRAIN_TIMEOUT"),
        "the policy covers removed backends too: " + f.get("web-0"));
  }

  @Test
  void diagnose_flowFromABackend_hairpin() {
    allAnswer(ProbeOutcome.SUCCESS);
    L4LoadBalancer lb = balancer(rule(), probe());
    clock.forwardTime(INTERVAL);
    FlowKey fromWeb2 = FlowKey.ipv4(0x7f000204, 40000, FRONTEND, 80, Protocol.TCP);
    lb.select(fromWeb2);
    List<Finding> f = of(lb.diagnose(), Check.HAIRPIN);
    assertEquals(1, f.size(), f.toString());
    assertTrue(f.get(0).evidence().get(0).startsWith("1 live flow from backends of the pool"));
    assertTrue(f.get(0).evidence().get(1).contains("from backend web-2"), f.get(0).toString());
    lb.flowClosed(fromWeb2);
    assertEquals(List.of(), of(lb.diagnose(), Check.HAIRPIN));
  }

  @Test
  void diagnose_allUnhealthy_criticalNamingThePolicy() {
    allAnswer(ProbeOutcome.REFUSED);
    L4LoadBalancer lb =
        balancer(rule().noHealthyBackendPolicy(io.lb4j.NoHealthyBackendPolicy.FAIL_OPEN), probe());
    clock.forwardTime(INTERVAL.multipliedBy(2));
    List<Finding> f = of(lb.diagnose(), Check.ALL_BACKENDS_UNHEALTHY);
    assertEquals(1, f.size(), f.toString());
    assertTrue(f.get(0).what().contains("FAIL_OPEN is in force"), f.get(0).what());
  }

  @Test
  void diagnose_configurationSmells_eachNamed() {
    allAnswer(ProbeOutcome.SUCCESS);
    checker.answer(new InetSocketAddress("127.0.2.2", 21), ProbeOutcome.SUCCESS);
    L4LoadBalancer lb =
        balancer(
            rule()
                .frontendPort(21)
                .backendPort(21)
                .floatingIp(true)
                .idleTimeout(Duration.ofSeconds(4)),
            probe());
    clock.forwardTime(INTERVAL);
    Diagnosis d = lb.diagnose();
    assertEquals(1, of(d, Check.FLOATING_IP).size(), d.toString());
    Finding idle = of(d, Check.IDLE_TIMEOUT_SHORTER_THAN_DETECTION).get(0);
    assertEquals(
        "rule http's idle timeout (4s) is shorter than the probe's detection time (5s x 2 ="
            + " 10s)",
        idle.what());
    assertTrue(of(d, Check.MULTI_CONNECTION_PROTOCOL).get(0).what().contains("FTP"));
  }

  @Test
  void uneven_needsBothSignificanceAndSize() {
    assertFalse(io.lb4j.core.diagnose.Diagnostician.uneven(260, 1000, 0.25), "within noise");
    assertTrue(io.lb4j.core.diagnose.Diagnostician.uneven(500, 1000, 0.25));
    assertFalse(io.lb4j.core.diagnose.Diagnostician.uneven(6, 10, 0.25), "too few flows to tell");
    assertTrue(io.lb4j.core.diagnose.Diagnostician.uneven(0, 1000, 0.25));
  }
}
