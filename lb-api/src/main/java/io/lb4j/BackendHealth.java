package io.lb4j;

import java.time.Instant;
import java.util.List;

/**
 * A backend's health for one rule as the balancer sees it now, with its recent probe results.
 *
 * <p>Instances are immutable and thread-safe.
 *
 * @param rule the rule's name
 * @param backendId the backend's id
 * @param state the probe-driven state
 * @param override the operator's override
 * @param ejectedUntil when a passive ejection ends, or null when the backend is not ejected
 * @param consecutiveConnectFailures connect failures in a row reported by the data plane
 * @param inRotation whether the backend may take new flows of the rule now
 * @param recentResults the last probe results, oldest first
 */
public record BackendHealth(
    String rule,
    String backendId,
    HealthState state,
    HealthOverride override,
    Instant ejectedUntil,
    int consecutiveConnectFailures,
    boolean inRotation,
    List<ProbeResult> recentResults) {

  /**
   * Copies the results.
   *
   * @param rule the rule's name
   * @param backendId the backend's id
   * @param state the probe-driven state
   * @param override the operator's override
   * @param ejectedUntil when a passive ejection ends, or null when the backend is not ejected
   * @param consecutiveConnectFailures connect failures in a row reported by the data plane
   * @param inRotation whether the backend may take new flows of the rule now
   * @param recentResults the last probe results, oldest first
   */
  public BackendHealth {
    Checks.notNull(rule, "rule");
    Checks.notNull(backendId, "backendId");
    Checks.notNull(state, "state");
    Checks.notNull(override, "override");
    recentResults = List.copyOf(Checks.notNull(recentResults, "recentResults"));
  }

  /** {@return whether passive health has the backend ejected} */
  public boolean isEjected() {
    return ejectedUntil != null;
  }

  /** {@return the newest probe result, or null when there is none} */
  public ProbeResult lastResult() {
    return recentResults.isEmpty() ? null : recentResults.get(recentResults.size() - 1);
  }
}
