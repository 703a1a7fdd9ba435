package io.lb4j;

import java.net.InetSocketAddress;

/**
 * A balancer's answer for a flow: the backend and address to send it to, or a typed reason why
 * there is none.
 *
 * <p>Answers are precomputed when the balancer's state changes, so returning one allocates nothing.
 * {@link #toString()} reads {@code SELECTED web-http -> web-1 127.0.0.2:8080} or {@code
 * NO_AVAILABLE_BACKEND web-http: pool 'web' has 3 backends, none available (2 unhealthy, 1
 * draining)}.
 *
 * <p>Instances are immutable and thread-safe.
 *
 * @param status what happened
 * @param rule the name of the load-balancing or NAT rule that matched, or null when none did
 * @param backend the chosen backend, or null unless the status is {@link Status#SELECTED}
 * @param target where to send the flow, or null unless the status is {@link Status#SELECTED}
 * @param detail a human-readable explanation
 */
public record Selection(
    Status status, String rule, Backend backend, InetSocketAddress target, String detail) {

  /** The outcome of a selection. */
  public enum Status {
    /** A backend was chosen. */
    SELECTED,
    /** No load-balancing or NAT rule matches the flow's destination address, port and protocol. */
    NO_RULE,
    /** The rule's pool has no backends. */
    NO_BACKEND,
    /**
     * The rule's pool has backends but none may take a new flow: each is unhealthy, draining,
     * disabled or of weight 0.
     */
    NO_AVAILABLE_BACKEND,
    /** The flow table is full: the new flow is refused, established flows are kept. */
    FLOW_TABLE_FULL,
    /**
     * The frontend refuses the client before any backend is chosen: a deny or allow list, a
     * connection limit, a bad PROXY header. Answered by a proxy's explain, never by a balancer.
     */
    REFUSED_BY_FRONTEND
  }

  /**
   * Checks that a selected answer has a backend and target, and any other answer has none.
   *
   * @param status what happened
   * @param rule the name of the load-balancing or NAT rule that matched, or null when none did
   * @param backend the chosen backend, or null unless the status is {@link Status#SELECTED}
   * @param target where to send the flow, or null unless the status is {@link Status#SELECTED}
   * @param detail a human-readable explanation
   */
  public Selection {
    Checks.notNull(status, "status");
    Checks.notNull(detail, "detail");
    if ((status == Status.SELECTED) != (backend != null && target != null)) {
      throw new IllegalArgumentException(
          "backend: "
              + backend
              + ", target: "
              + target
              + " (expected: both set exactly when the status is SELECTED, status "
              + status
              + ")");
    }
  }

  /**
   * Returns the answer that {@code backend} at {@code target} was chosen by {@code rule}.
   *
   * @param rule the name of the rule that matched
   * @param backend the chosen backend
   * @param target the address and port to send the flow to
   * @return a {@link Status#SELECTED} answer whose detail reads {@code rule -> backend
   *     address:port}
   */
  public static Selection selected(String rule, Backend backend, InetSocketAddress target) {
    return new Selection(
        Status.SELECTED,
        rule,
        backend,
        target,
        rule + " -> " + backend.id() + " " + hostPort(target));
  }

  /**
   * Returns the answer that no backend was chosen, for {@code status} and {@code detail}.
   *
   * @param status why there is no backend; any status but {@link Status#SELECTED}
   * @param rule the name of the rule that matched, or null when none did
   * @param detail a human-readable explanation
   * @return the refusal
   */
  public static Selection none(Status status, String rule, String detail) {
    return new Selection(status, rule, null, null, detail);
  }

  /** {@return whether a backend was chosen} */
  public boolean isSelected() {
    return status == Status.SELECTED;
  }

  private static String hostPort(InetSocketAddress target) {
    return IpLiteral.format(target);
  }

  @Override
  public String toString() {
    return status + " " + detail;
  }
}
