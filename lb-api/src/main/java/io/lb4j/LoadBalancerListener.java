package io.lb4j;

import java.time.Duration;
import java.util.List;

/**
 * Receives a balancer's events. Methods run on the balancer's control thread (the probe scheduler)
 * or on the thread that changed the configuration; they must be quick and must not block. {@link
 * #onHealthChange} and {@link #onFlowsEnded} may run while the control plane holds its lock:
 * calling the balancer back from the same thread is safe, but waiting for another thread that calls
 * the balancer's control plane would deadlock — hand such work to an executor; so may {@link
 * #onEjection}. {@link #onReconfigured} runs outside the lock. {@link #onProbeResult} runs outside
 * the lock on the thread that completed the probe (the health checker's I/O thread). Every method
 * has a default that does nothing.
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

  /**
   * Called with every probe result — passes and failures alike, whether or not it changes the
   * backend's health — for counters and latency histograms (a health change also comes to {@link
   * #onHealthChange}). Rules that probe the same address with the same probe share one probe: its
   * result is told once per rule. Runs on the thread that completed the probe, outside the lock,
   * results of one backend in order; it is called for every probe, so it must be cheap.
   *
   * @param rule the rule's name
   * @param backendId the backend's id
   * @param result the probe's outcome, latency and detail
   */
  default void onProbeResult(String rule, String backendId, ProbeResult result) {}

  /**
   * Called when passive health ejects a backend of a rule after consecutive connect failures
   * ({@link OutlierDetection}); not when the ejection is refused by {@link
   * OutlierDetection#maxEjectionPercent()}. The ejection's health change, if any, has gone to
   * {@link #onHealthChange} first. Runs on the control thread while the control plane holds its
   * lock.
   *
   * @param rule the rule's name
   * @param backendId the backend's id
   * @param duration how long the ejection lasts at least (it ends with the next passing probe after
   *     that when the rule has a probe)
   */
  default void onEjection(String rule, String backendId, Duration duration) {}
}
