package io.lb4j.xds;

/**
 * An xDS update lb4j refuses: its message names the field and says what was expected, and becomes
 * the NACK's {@code error_detail}. Carries no stack trace: it is an answer, not a bug.
 *
 * <p>Immutable and thread-safe.
 */
final class RefusedUpdate extends Exception {
  private static final long serialVersionUID = 1L;

  RefusedUpdate(String message) {
    super(message, null, false, false);
  }
}
