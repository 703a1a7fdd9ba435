package io.lb4j;

import java.util.List;

/**
 * Receives a balancer's events. Methods run on the balancer's control thread (the probe scheduler)
 * or on the thread that changed the configuration; they must be quick and must not block. {@link
 * #onHealthChange} and {@link #onFlowsEnded} may run while the control plane holds its lock:
 * calling the balancer back from the same thread is safe, but waiting for another thread that calls
 * the balancer's control plane would deadlock — hand such work to an executor. {@link
 * #onReconfigured} runs outside the lock. Every method has a default that does nothing.
 *
 * <p>Implementations must be thread-safe.
 */
public interface LoadBalancerListener {

  /**
   * Called when a backend's health for a rule changes.
   *
   * @param event the rule, the backend, the old and new state, and what caused the change
   */
  default void onHealthChange(HealthEvent event) {}

  /**
   * Called when the balancer ends established flows — of a backend unhealthy past its rule's drain
   * timeout — so that a data path can close their connections. The flows are already forgotten.
   *
   * @param rule the rule whose flows ended
   * @param backendId the backend they were on
   * @param flows the ended flows' 5-tuples
   * @param reason why, for the log: {@code backend unhealthy for the rule's drain timeout (5m)}
   */
  default void onFlowsEnded(String rule, String backendId, List<FlowKey> flows, String reason) {}

  /**
   * Called after the configuration changed — a reload, a backend added or removed, a weight, admin
   * state or override set — with the configuration now in force, so that a client that keeps one
   * connection pool per backend (a gRPC channel's subchannels) can follow membership.
   *
   * @param config the configuration now in force
   */
  default void onReconfigured(LoadBalancerConfig config) {}
}
