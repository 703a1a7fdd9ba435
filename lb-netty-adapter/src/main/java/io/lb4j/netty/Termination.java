package io.lb4j.netty;

/**
 * How a proxied connection ended, as the two-character code of the {@linkplain AccessLog connection
 * log}: the first character says who or what ended it, the second in which phase, with the letters
 * of HAProxy's session state at disconnection ({@code option tcplog}) where the meaning is the
 * same.
 *
 * <p>First character: {@code -} nobody (a normal close), {@code C} the client aborted, {@code S}
 * the backend aborted or refused, {@code P} the proxy refused the client, {@code R} a resource of
 * the proxy ran out (source ports), {@code c} the idle timeout or the PROXY header deadline ran
 * out, {@code s} the connect timeout ran out, {@code D} the balancer ended the flow (its backend
 * down or removed, past the rule's drain timeout), {@code K} killed by the operator (backend
 * disabled, shutdown drain deadline).
 *
 * <p>Second character: {@code R} before admission (the PROXY header, the source filter, the
 * connection limit, selection), {@code C} while connecting to a backend, {@code D} in the data
 * phase, {@code -} after both sides closed normally.
 *
 * <p>Immutable and thread-safe.
 */
public enum Termination {
  /** {@code --}: both sides sent FIN and everything was relayed. */
  NORMAL("--"),
  /** {@code CR}: the client closed before its PROXY header was complete, or sent none. */
  CLIENT_CLOSED_BEFORE_HEADER("CR"),
  /** {@code cR}: the PROXY header was not complete within the frontend's deadline. */
  HEADER_TIMEOUT("cR"),
  /**
   * {@code PR}: refused at admission: source filter, connection limit, no backend, bad PROXY
   * header; the {@linkplain RefusalReason reason} is in the record.
   */
  REFUSED("PR"),
  /** {@code CC}: the client left while the proxy was connecting to a backend. */
  CLIENT_CLOSED_CONNECTING("CC"),
  /** {@code SC}: every connect attempt was refused, reset or unreachable. */
  CONNECT_FAILED("SC"),
  /** {@code sC}: the last connect attempt was not done within the rule's connect timeout. */
  CONNECT_TIMEOUT("sC"),
  /** {@code RC}: no local source port was left for the connect (EADDRNOTAVAIL). */
  NO_SOURCE_PORT("RC"),
  /** {@code cC}: the idle timeout ran out while the proxy was still connecting. */
  IDLE_CONNECTING("cC"),
  /** {@code DC}: the balancer ended the flow while the proxy was connecting. */
  ENDED_BY_BALANCER_CONNECTING("DC"),
  /** {@code KC}: killed while connecting (backend disabled, shutdown drain deadline). */
  KILLED_CONNECTING("KC"),
  /** {@code CD}: the client reset or dropped the connection in the data phase. */
  CLIENT_ABORTED("CD"),
  /** {@code SD}: the backend reset or dropped the connection in the data phase. */
  BACKEND_ABORTED("SD"),
  /**
   * {@code cD}: no byte either way for the rule's idle timeout (with a RST if {@code tcpReset}).
   */
  IDLE_TIMEOUT("cD"),
  /**
   * {@code DD}: the balancer ended the flow: its backend down or removed, past the drain timeout.
   */
  ENDED_BY_BALANCER("DD"),
  /** {@code KD}: killed: its backend disabled by the operator, or the shutdown drain deadline. */
  KILLED("KD");

  private final String code;

  Termination(String code) {
    this.code = code;
  }

  /** {@return the two-character code, such as {@code --} or {@code SC}} */
  public String code() {
    return code;
  }

  /** Returns this data-phase cause as it reads when it strikes while connecting. */
  Termination whileConnecting() {
    switch (this) {
      case IDLE_TIMEOUT:
        return IDLE_CONNECTING;
      case ENDED_BY_BALANCER:
        return ENDED_BY_BALANCER_CONNECTING;
      case KILLED:
        return KILLED_CONNECTING;
      case CLIENT_ABORTED:
        return CLIENT_CLOSED_CONNECTING;
      default:
        return this;
    }
  }
}
