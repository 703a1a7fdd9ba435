package io.lb4j;

/**
 * The operator's override of a backend's probe verdict: Azure Load Balancer's admin state {@code
 * None}, {@code Up} and {@code Down}.
 *
 * <p>Instances are immutable and thread-safe.
 */
public enum HealthOverride {
  /** Health follows the probes (Azure {@code None}); the default. */
  FOLLOW_PROBE,
  /** Healthy whatever the probes say (Azure {@code Up}); passive ejection does not apply. */
  FORCE_UP,
  /** Unhealthy whatever the probes say (Azure {@code Down}); its flows follow the rule's policy. */
  FORCE_DOWN
}
