package io.lb4j;

/**
 * How a {@link HealthProbe} checks a backend.
 *
 * <p>Instances are immutable and thread-safe.
 */
public enum ProbeProtocol {
  /** Healthy when the TCP three-way handshake completes; the prober then closes with FIN. */
  TCP,
  /** Healthy when a GET of the probe's path answers with an expected status. */
  HTTP,
  /** HTTP over TLS, without certificate validation, as the cloud balancers' probes do. */
  HTTPS
}
