package io.lb4j.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lb4j.Diagnosis;
import io.lb4j.DistributionMode;
import io.lb4j.Finding;
import io.lb4j.Finding.Check;
import io.lb4j.FlowKey;
import io.lb4j.HealthProbe;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancingRule;
import io.lb4j.ProbeOutcome;
import io.lb4j.Protocol;
import io.lb4j.UnhealthyFlowPolicy;
import io.lb4j.testing.FakeClock;
import io.lb4j.testing.FakeHealthChecker;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/**
 * Every fix a finding offers, applied as written — by reconfiguration as a reload does, or by
 * changing what the backends answer — removes the finding. The finding is asserted first, with the
 * fix's words, so a test fails if the advice changes without the remedy.
 */
class DiagnosisFixesTest {
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

  private static InetSocketAddress target(int backend, int port) {
    return new InetSocketAddress("127.0.2." + (2 + backend), port);
  }

  private static FlowKey flow(int i) {
    return FlowKey.ipv4(0x7f640000 + i, 40000, FRONTEND, 80, Protocol.TCP);
  }

  /** Applies a change of the rule as a reload would. */
  private static void reload(L4LoadBalancer lb, UnaryOperator<LoadBalancingRule.Builder> change) {
    LoadBalancerConfig c = lb.config();
    lb.reconfigure(c.withRule(change.apply(c.loadBalancingRule("http").toBuilder()).build()));
  }

  private static List<Finding> of(Diagnosis d, Check check, String backend) {
    return d.of(check).stream()
        .filter(f -> backend == null || backend.equals(f.backend()))
        .toList();
  }

  @Test
  void probeRefused_startTheService_findingGone() {
    checker.answer(target(1, 8080), ProbeOutcome.REFUSED);
    L4LoadBalancer lb = balancer(rule(), probe());
    clock.forwardTime(INTERVAL.multipliedBy(2));
    Finding f = of(lb.diagnose(), Check.PROBE_FAILING, "web-1").get(0);
    assertTrue(f.fix().startsWith("start the service on port 8080"), f.fix());
    checker.answer(target(1, 8080), ProbeOutcome.SUCCESS); // the fix
    clock.forwardTime(INTERVAL);
    assertEquals(List.of(), of(lb.diagnose(), Check.PROBE_FAILING, "web-1"));
  }

  @Test
  void removedBackendKeepsFlows_policyFromTheFix_deadlineEndsThemAndTheFinding() {
    L4LoadBalancer lb = balancer(rule(), probe());
    clock.forwardTime(INTERVAL);
    int onWeb0 = 0;
    for (int i = 0; onWeb0 < 3; i++) {
      onWeb0 += lb.select(flow(i)).backend().id().equals("web-0") ? 1 : 0;
    }
    lb.removeBackend("web", "web-0");
    Finding f = of(lb.diagnose(), Check.FLOWS_ON_OUT_OF_ROTATION_BACKEND, "web-0").get(0);
    assertTrue(f.fix().contains("unhealthyFlowPolicy to CLOSE_AFTER_DRAIN_TIMEOUT"), f.fix());
    reload(
        lb,
        r ->
            r.unhealthyFlowPolicy(UnhealthyFlowPolicy.CLOSE_AFTER_DRAIN_TIMEOUT)
                .drainTimeout(Duration.ofSeconds(60)));
    Finding armed = of(lb.diagnose(), Check.FLOWS_ON_OUT_OF_ROTATION_BACKEND, "web-0").get(0);
    assertTrue(
        armed.evidence().get(0).contains("CLOSE_AFTER_DRAIN_TIMEOUT policy closes them"),
        armed.toString());
    clock.forwardTime(Duration.ofSeconds(60));
    assertEquals(List.of(), of(lb.diagnose(), Check.FLOWS_ON_OUT_OF_ROTATION_BACKEND, "web-0"));
  }

  @Test
  void unhealthyBackendKeepsFlows_policyByReload_deadlineEndsThemAndTheFinding() {
    L4LoadBalancer lb = balancer(rule(), probe());
    clock.forwardTime(INTERVAL);
    int onWeb2 = 0;
    for (int i = 0; onWeb2 < 3; i++) {
      onWeb2 += lb.select(flow(i)).backend().id().equals("web-2") ? 1 : 0;
    }
    checker.answer(target(2, 8080), ProbeOutcome.REFUSED);
    clock.forwardTime(INTERVAL.multipliedBy(2));
    Finding f = of(lb.diagnose(), Check.FLOWS_ON_OUT_OF_ROTATION_BACKEND, "web-2").get(0);
    assertTrue(f.fix().contains("CLOSE_AFTER_DRAIN_TIMEOUT"), f.fix());
    reload(
        lb,
        r ->
            r.unhealthyFlowPolicy(UnhealthyFlowPolicy.CLOSE_AFTER_DRAIN_TIMEOUT)
                .drainTimeout(Duration.ofSeconds(30)));
    clock.forwardTime(Duration.ofSeconds(30));
    assertEquals(List.of(), of(lb.diagnose(), Check.FLOWS_ON_OUT_OF_ROTATION_BACKEND, "web-2"));
  }

  @Test
  void backendPortTypo_setTheRightPort_findingGone() {
    for (int b = 0; b < 4; b++) {
      checker.answer(target(b, 1443), ProbeOutcome.REFUSED); // the typo
      checker.answer(target(b, 9000), ProbeOutcome.SUCCESS); // the probe's own port
    }
    L4LoadBalancer lb = balancer(rule().backendPort(1443), probe().port(9000));
    clock.forwardTime(INTERVAL);
    Finding f = of(lb.diagnose(), Check.BACKEND_PORT_CLOSED_EVERYWHERE, null).get(0);
    assertTrue(f.fix().contains("check backendPort 1443 of rule http: is it a typo"), f.fix());
    reload(lb, r -> r.backendPort(1433)); // 127.0.2.x:1433 answers by default
    assertEquals(List.of(), of(lb.diagnose(), Check.BACKEND_PORT_CLOSED_EVERYWHERE, null));
    assertEquals(List.of(), of(lb.diagnose(), Check.DATA_PORT_REFUSED, null));
  }

  @Test
  void configurationSmells_eachFixApplied_eachGone() {
    L4LoadBalancer lb =
        balancer(
            rule()
                .floatingIp(true)
                .idleTimeout(Duration.ofSeconds(4))
                .frontendPort(21)
                .backendPort(21),
            probe());
    clock.forwardTime(INTERVAL);
    Diagnosis d = lb.diagnose();
    assertTrue(of(d, Check.FLOATING_IP, null).get(0).fix().contains("turn it off"));
    assertTrue(
        of(d, Check.IDLE_TIMEOUT_SHORTER_THAN_DETECTION, null)
            .get(0)
            .fix()
            .contains("raise the idle timeout"));
    assertTrue(of(d, Check.MULTI_CONNECTION_PROTOCOL, null).get(0).fix().contains("SOURCE_IP"));
    reload(
        lb,
        r ->
            r.floatingIp(false)
                .idleTimeout(Duration.ofSeconds(11)) // above 5s x 2
                .distributionMode(DistributionMode.SOURCE_IP));
    Diagnosis after = lb.diagnose();
    assertEquals(List.of(), of(after, Check.FLOATING_IP, null));
    assertEquals(List.of(), of(after, Check.IDLE_TIMEOUT_SHORTER_THAN_DETECTION, null));
    assertEquals(List.of(), of(after, Check.MULTI_CONNECTION_PROTOCOL, null));
  }

  @Test
  void allBackendsRefusing_startTheServices_findingGone() {
    for (int b = 0; b < 4; b++) {
      checker.answer(target(b, 8080), ProbeOutcome.REFUSED);
    }
    L4LoadBalancer lb = balancer(rule(), probe());
    clock.forwardTime(INTERVAL.multipliedBy(2));
    Diagnosis d = lb.diagnose();
    Finding f = of(d, Check.ALL_BACKENDS_UNHEALTHY, null).get(0);
    assertTrue(f.what().contains("every data port refuses too"), f.what());
    assertTrue(f.fix().startsWith("start the services again"), f.fix());
    assertEquals(List.of(), of(d, Check.BACKEND_PORT_CLOSED_EVERYWHERE, null), "a false lead");
    for (int b = 0; b < 4; b++) {
      checker.answer(target(b, 8080), ProbeOutcome.SUCCESS);
    }
    clock.forwardTime(INTERVAL);
    assertFalse(lb.diagnose().toString().contains("ALL_BACKENDS_UNHEALTHY"));
  }
}
