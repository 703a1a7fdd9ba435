package io.lb4j;

/**
 * What the balancer believes about a backend's health for one rule.
 *
 * <p>Instances are immutable and thread-safe.
 */
public enum HealthState {
  /** Not probed yet; by default such a backend gets no new flows until its first passing probe. */
  UNKNOWN,
  /** In rotation: probes pass (or the rule has no probe, or the admin forces it up). */
  HEALTHY,
  /** Out of rotation: probes fail, the admin forces it down, or passive health ejected it. */
  UNHEALTHY
}
