package io.lb4j;

/**
 * The outcome of one health probe. Each failure is its own diagnosis: {@link #REFUSED} means
 * nothing listens on the port (the backend answered with a TCP reset), {@link #TIMEOUT} means no
 * answer at all (a firewall, an ACL or a route dropped the SYN, or the server hangs).
 *
 * <p>Instances are immutable and thread-safe.
 */
public enum ProbeOutcome {
  /** The probe passed: the handshake completed, or HTTP(S) answered with an expected status. */
  SUCCESS,
  /** The connection was refused (TCP RST): nothing listens on the probed port. */
  REFUSED,
  /** No answer within the probe's timeout: the SYN or the response was dropped or never came. */
  TIMEOUT,
  /** Another network error: no route to host, host unreachable, reset mid-exchange. */
  NETWORK_ERROR,
  /** HTTP(S) answered with a status the probe does not expect, such as 503. */
  UNEXPECTED_STATUS,
  /** HTTP(S) answered with something that is not an HTTP/1.x response. */
  MALFORMED_RESPONSE,
  /** HTTP(S): the server closed the connection before a complete status line. */
  EARLY_CLOSE,
  /** HTTPS: the TLS handshake failed. */
  TLS_ERROR;

  /** {@return whether this outcome counts as a pass} */
  public boolean isSuccess() {
    return this == SUCCESS;
  }
}
