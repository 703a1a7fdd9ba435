package io.lb4j.connect;

import io.lb4j.Durations;
import io.lb4j.FlowKey;
import io.lb4j.IpLiteral;
import io.lb4j.Lease;
import io.lb4j.LoadBalancer;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.Protocol;
import io.lb4j.Rule;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.time.Duration;

/**
 * The attempts of one balanced connect: which lease to take next, what to report after each
 * connect, and the error that names every backend tried. {@link BalancedConnector} (blocking) and
 * lb-netty-adapter's {@code NettyConnector} both drive one per connect; a connector of your own can
 * too:
 *
 * <pre>{@code
 * ConnectAttempts a = connector.attempts(lb.keyHash("user-42"));
 * while (true) {
 *   Lease lease = a.next();                 // throws ConnectException when nothing is left
 *   try {
 *     connect(lease.target(), a.timeoutMillis());
 *     a.succeeded(lease);
 *     return lease;
 *   } catch (IOException e) {
 *     a.failed(lease, e);                   // ends the lease, reports, remembers the backend
 *   }
 * }
 * }</pre>
 *
 * <p>Not thread-safe: one connect's attempts run one after the other.
 */
public final class ConnectAttempts {
  private final LoadBalancer lb;
  private final String rule;
  private final boolean keyed;
  private final int timeoutMillis;
  private final String[] tried;
  private long hash;
  private int attempt;
  private StringBuilder failures;

  ConnectAttempts(BalancedConnector connector, long hash, boolean keyed, int timeoutMillis) {
    this.timeoutMillis = timeoutMillis;
    this.lb = connector.balancer();
    this.rule = connector.rule();
    this.hash = hash;
    this.keyed = keyed;
    this.tried = new String[connector.maxAttempts()];
  }

  /** {@return the connect timeout of each attempt, in milliseconds} */
  public int timeoutMillis() {
    return timeoutMillis;
  }

  /** {@return how many attempts failed so far} */
  public int failedAttempts() {
    return attempt;
  }

  /**
   * Returns the lease for the next attempt: by the key's hash, or for the first attempt without a
   * key by the rule's scheduler, later ones by a backend not yet tried.
   *
   * @return a lease to connect with; report its outcome with {@link #succeeded} or {@link #failed}
   * @throws ConnectException when no backend can be leased (the balancer's reason) or every attempt
   *     was used or every backend tried (each backend tried with its error)
   */
  public Lease next() throws ConnectException {
    checkLeft();
    Lease lease;
    if (!keyed && attempt == 0) {
      lease = lb.lease(rule);
      hash = lease.hash(); // a retry spreads from the scheduler's random draw
    } else {
      lease = lb.leaseByKeyHash(rule, hash, attempt, tried, attempt);
    }
    return granted(lease);
  }

  /**
   * Returns the lease for the next attempt of a connection bound to {@code local}: by its 5-tuple
   * to the rule's frontend ({@link LoadBalancer#lease(FlowKey)}); for a retry the new flow is first
   * recorded on a backend not yet tried ({@link LoadBalancer#reselect(FlowKey, int, String[],
   * int)}).
   *
   * @param local the address and port the connection is bound to
   * @return a lease to connect with; report its outcome with {@link #succeeded} or {@link #failed}
   * @throws ConnectException as {@link #next()}
   */
  public Lease nextForFlow(InetSocketAddress local) throws ConnectException {
    checkLeft();
    LoadBalancerConfig config = lb.config();
    Rule r = config.rule(rule);
    if (r == null) {
      throw new ConnectException(rule + ": no rule named '" + rule + "'");
    }
    FlowKey flow =
        FlowKey.of(
            Protocol.TCP,
            local,
            new InetSocketAddress(config.frontend(r.frontend()).address(), r.frontendPort()));
    if (attempt > 0 && !lb.reselect(flow, attempt, tried, attempt).isSelected()) {
      throw exhausted();
    }
    return granted(lb.lease(flow));
  }

  /**
   * Reports the lease's connect as a success to passive health.
   *
   * @param lease the lease whose connect succeeded; it stays open, held by the connection
   */
  public void succeeded(Lease lease) {
    lb.reportConnectSuccess(rule, lease.backend().id());
  }

  /**
   * Ends the lease of a failed connect, reports the failure to passive health and remembers the
   * backend and the error for the next attempt and the final message.
   *
   * @param lease the lease whose connect failed
   * @param cause the connect's error, for the final message
   */
  public void failed(Lease lease, Throwable cause) {
    lease.close();
    String backend = lease.backend().id();
    lb.reportConnectFailure(rule, backend);
    tried[attempt++] = backend;
    if (failures == null) {
      failures = new StringBuilder();
    }
    failures
        .append("; ")
        .append(backend)
        .append(' ')
        .append(IpLiteral.format(lease.target()))
        .append(": ")
        .append(describe(cause));
  }

  private void checkLeft() throws ConnectException {
    if (attempt >= tried.length) {
      throw new ConnectException(
          rule + ": every attempt failed (" + tried.length + " attempts)" + failures);
    }
  }

  private Lease granted(Lease lease) throws ConnectException {
    if (lease.isGranted()) {
      return lease;
    }
    if (attempt == 0) {
      throw new ConnectException(rule + ": " + lease.selection().detail());
    }
    throw exhausted();
  }

  private ConnectException exhausted() {
    return new ConnectException(
        rule + ": no backend left to try after " + attempt + " attempts" + failures);
  }

  private String describe(Throwable e) {
    if (e instanceof SocketTimeoutException
        || e.getClass().getSimpleName().equals("ConnectTimeoutException")) { // Netty's
      return "no answer within the connect timeout ("
          + Durations.format(Duration.ofMillis(timeoutMillis()))
          + ")";
    }
    String m = e.getMessage();
    return e.getClass().getSimpleName() + (m == null ? "" : ": " + m);
  }
}
