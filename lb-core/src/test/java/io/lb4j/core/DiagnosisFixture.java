package io.lb4j.core;

import io.lb4j.BackendPool;
import io.lb4j.Frontend;
import io.lb4j.HealthProbe;
import io.lb4j.HealthState;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancingRule;
import io.lb4j.testing.FakeClock;
import io.lb4j.testing.FakeHealthChecker;
import io.lb4j.testing.TestBackends;
import java.time.Duration;

/**
 * The setting of the diagnosis tests: four backends on 127.0.2.2-5 behind rule {@code http} (port
 * 80 to 8080), probed by {@code tcp} every 5 s through a scripted checker, on a fake clock.
 */
final class DiagnosisFixture {
  static final Duration INTERVAL = Duration.ofSeconds(5);

  final FakeClock clock = new FakeClock();
  final FakeHealthChecker checker = new FakeHealthChecker(clock);

  static HealthProbe.Builder probe() {
    return HealthProbe.builder("tcp")
        .interval(INTERVAL)
        .timeout(Duration.ofSeconds(2))
        .healthyThreshold(1)
        .unhealthyThreshold(2)
        .jitterPercent(0)
        .initialState(HealthState.HEALTHY);
  }

  static LoadBalancingRule.Builder rule() {
    return LoadBalancingRule.builder("http")
        .frontend("fe")
        .frontendPort(80)
        .backendPool("web")
        .backendPort(8080)
        .probe("tcp");
  }

  L4LoadBalancer balancer(LoadBalancingRule.Builder rule, HealthProbe.Builder probe) {
    return L4LoadBalancer.builder()
        .config(
            LoadBalancerConfig.builder()
                .frontend(Frontend.of("fe", "127.0.0.1"))
                .pool(new BackendPool("web", TestBackends.loopback("web", 4)))
                .probe(probe.build())
                .rule(rule.build())
                .build())
        .ticker(clock)
        .clock(clock)
        .maintenanceScheduler(clock)
        .probeScheduler(clock)
        .healthChecker(checker)
        .probeSeed(1)
        .build();
  }
}
