package io.lb4j.core.diagnose;

import io.lb4j.AdminState;
import io.lb4j.Backend;
import io.lb4j.FlowExplanation.Exclusion;
import io.lb4j.FlowKey;
import io.lb4j.HealthState;
import io.lb4j.ProbeResult;
import java.net.InetSocketAddress;
import java.time.Instant;
import java.util.List;

/**
 * One backend of one rule as the control plane saw it.
 *
 * <p>Immutable and thread-safe.
 *
 * @param id the backend's id
 * @param backend the backend's record (weight, admin state, override, address)
 * @param target where the rule sends its flows
 * @param member whether it is in the pool (false: removed, flows remain)
 * @param health its health for the rule
 * @param inRotation whether it takes new flows
 * @param exclusion why it takes no new flows, or null
 * @param exclusionDetail the same in words, or ""
 * @param cause why it has its health (probe, override, ejection)
 * @param active flows recorded on it
 * @param probeAddress where its probe connects, or null without a probe
 * @param results its recent probe results, oldest first
 * @param consecutiveFailures probe failures in a row
 * @param drainDeadline when the rule's drain policy closes its flows, or null
 * @param sampleFlows up to three of its flows, or none where the view was taken without flows
 * @param flowsFromPool its flows whose source is the address of a backend of the same rule
 *     (hairpin), or none where the view was taken without flows
 */
public record BackendView(
    String id,
    Backend backend,
    InetSocketAddress target,
    boolean member,
    HealthState health,
    boolean inRotation,
    Exclusion exclusion,
    String exclusionDetail,
    String cause,
    int active,
    InetSocketAddress probeAddress,
    List<ProbeResult> results,
    int consecutiveFailures,
    Instant drainDeadline,
    List<FlowKey> sampleFlows,
    List<FlowKey> flowsFromPool) {

  /**
   * Copies the lists.
   *
   * @param id the backend's id
   * @param backend the backend's record (weight, admin state, override, address)
   * @param target where the rule sends its flows
   * @param member whether it is in the pool (false: removed, flows remain)
   * @param health its health for the rule
   * @param inRotation whether it takes new flows
   * @param exclusion why it takes no new flows, or null
   * @param exclusionDetail the same in words, or ""
   * @param cause why it has its health (probe, override, ejection)
   * @param active flows recorded on it
   * @param probeAddress where its probe connects, or null without a probe
   * @param results its recent probe results, oldest first
   * @param consecutiveFailures probe failures in a row
   * @param drainDeadline when the rule's drain policy closes its flows, or null
   * @param sampleFlows up to three of its flows, or none where the view was taken without flows
   * @param flowsFromPool its flows whose source is the address of a backend of the same rule
   *     (hairpin), or none where the view was taken without flows
   */
  public BackendView {
    results = List.copyOf(results);
    sampleFlows = List.copyOf(sampleFlows);
    flowsFromPool = List.copyOf(flowsFromPool);
  }

  /** {@return the newest probe result, or null} */
  public ProbeResult last() {
    return results.isEmpty() ? null : results.get(results.size() - 1);
  }

  /** {@return whether the operator wants it to take flows: a member, ENABLED, weight above 0} */
  public boolean serving() {
    return member && backend.adminState() == AdminState.ENABLED && backend.weight() > 0;
  }
}
