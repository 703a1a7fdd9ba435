package io.lb4j.core.health;

import io.lb4j.HealthProbe;
import io.lb4j.HealthState;

/**
 * Rise and fall thresholds over a stream of probe outcomes (HAProxy's {@code rise}/{@code fall},
 * AWS NLB's healthy/unhealthy threshold counts).
 *
 * <p>From {@link HealthState#UNKNOWN} the first pass makes a backend healthy (Azure Load Balancer's
 * rule for a new instance) and {@code unhealthyThreshold} failures in a row make it unhealthy. A
 * healthy backend becomes unhealthy after {@code unhealthyThreshold} failures in a row; an
 * unhealthy one becomes healthy after {@code healthyThreshold} passes in a row.
 *
 * <p>Not thread-safe; the prober confines each target's machine to one probe at a time.
 */
final class HealthStateMachine {
  private final int healthyThreshold;
  private final int unhealthyThreshold;
  private HealthState state;
  private int successes;
  private int failures;

  HealthStateMachine(HealthProbe probe) {
    this.healthyThreshold = probe.healthyThreshold();
    this.unhealthyThreshold = probe.unhealthyThreshold();
    this.state = probe.initialState();
  }

  /** Feeds one outcome and returns the state after it. */
  HealthState record(boolean success) {
    if (success) {
      failures = 0;
      successes++;
      if (state == HealthState.UNKNOWN
          || (state == HealthState.UNHEALTHY && successes >= healthyThreshold)) {
        state = HealthState.HEALTHY;
      }
    } else {
      successes = 0;
      failures++;
      if (state != HealthState.UNHEALTHY && failures >= unhealthyThreshold) {
        state = HealthState.UNHEALTHY;
      }
    }
    return state;
  }

  HealthState state() {
    return state;
  }

  int consecutiveSuccesses() {
    return successes;
  }

  int consecutiveFailures() {
    return failures;
  }
}
