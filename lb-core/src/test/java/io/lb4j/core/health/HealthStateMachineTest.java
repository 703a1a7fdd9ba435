package io.lb4j.core.health;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.lb4j.HealthProbe;
import io.lb4j.HealthState;
import org.junit.jupiter.api.Test;

class HealthStateMachineTest {
  private static HealthStateMachine machine(int healthy, int unhealthy, HealthState initial) {
    return new HealthStateMachine(
        HealthProbe.builder("p")
            .healthyThreshold(healthy)
            .unhealthyThreshold(unhealthy)
            .initialState(initial)
            .build());
  }

  @Test
  void record_unknownThenPass_isHealthyAtOnce() {
    HealthStateMachine m = machine(3, 2, HealthState.UNKNOWN);
    assertEquals(HealthState.UNKNOWN, m.state());
    assertEquals(HealthState.HEALTHY, m.record(true));
  }

  @Test
  void record_unknownThenFailures_unhealthyAtThreshold() {
    HealthStateMachine m = machine(3, 2, HealthState.UNKNOWN);
    assertEquals(HealthState.UNKNOWN, m.record(false));
    assertEquals(HealthState.UNHEALTHY, m.record(false));
  }

  @Test
  void record_healthyFailures_fallAfterExactlyUnhealthyThreshold() {
    HealthStateMachine m = machine(2, 3, HealthState.HEALTHY);
    assertEquals(HealthState.HEALTHY, m.record(false));
    assertEquals(HealthState.HEALTHY, m.record(false));
    assertEquals(HealthState.HEALTHY, m.record(true)); // a pass resets the run
    assertEquals(HealthState.HEALTHY, m.record(false));
    assertEquals(HealthState.HEALTHY, m.record(false));
    assertEquals(HealthState.UNHEALTHY, m.record(false));
    assertEquals(3, m.consecutiveFailures());
  }

  @Test
  void record_unhealthyPasses_riseAfterExactlyHealthyThreshold() {
    HealthStateMachine m = machine(2, 1, HealthState.HEALTHY);
    assertEquals(HealthState.UNHEALTHY, m.record(false));
    assertEquals(HealthState.UNHEALTHY, m.record(true));
    assertEquals(HealthState.UNHEALTHY, m.record(false)); // a failure resets the run
    assertEquals(HealthState.UNHEALTHY, m.record(true));
    assertEquals(HealthState.HEALTHY, m.record(true));
  }
}
