package io.lb4j.netty;

import io.lb4j.FlowKey;
import io.lb4j.LoadBalancer;
import io.lb4j.Selection;

/**
 * How many connects one client connection may try, and which backend each one goes to.
 *
 * <ul>
 *   <li>An attempt is one TCP connect to one backend; it fails when refused, reset, unreachable or
 *       not done within the rule's connect timeout, and each failure is reported to passive health
 *       before the next attempt is chosen.
 *   <li>Attempt 1 goes where {@link LoadBalancer#select} sent the flow.
 *   <li>Attempt {@code n + 1} goes to {@link LoadBalancer#reselect(FlowKey, int, String[], int)
 *       reselect(flow, n, tried, n)}: a backend this connection has not tried, while the balancer
 *       has one to offer. {@code L4LoadBalancer} offers the backends in rotation first (the
 *       selector's own retry draws, then each in turn, bounded-load-capped ones included), then, as
 *       a last resort, the backends kept out of rotation by passive ejection alone; so the ejection
 *       cap, or an ejection that outlives its cause, never ends a connection that a backend could
 *       still take.
 *   <li>There is no further attempt when {@link #maxAttempts()} connects were made or when the
 *       balancer has no untried candidate left (or selects nothing: no rule, flow table full): see
 *       {@link #next}, the one place that decides what a refusal means for a retry.
 * </ul>
 *
 * <p>{@link RuleOptions#maxConnectAttempts()} (3 by default, HAProxy's {@code retries 2} with
 * {@code option redispatch}: three connects in all) sets {@link #maxAttempts()}. A route holds one
 * policy, shared by its connections; the tried backends are the connection's own. The connections
 * it gives up on are logged through its {@link GiveUpLog}: once per set of failed backends, with a
 * count.
 *
 * <p>Thread-safe.
 */
final class ConnectRetryPolicy {
  private final int maxAttempts;
  private final GiveUpLog giveUps = new GiveUpLog();

  private ConnectRetryPolicy(int maxAttempts) {
    this.maxAttempts = maxAttempts;
  }

  /**
   * Returns the policy of at most {@code maxAttempts} connects per client connection.
   *
   * @throws IllegalArgumentException if {@code maxAttempts} is outside 1-10
   */
  static ConnectRetryPolicy maxAttempts(int maxAttempts) {
    if (maxAttempts < 1 || maxAttempts > 10) {
      throw new IllegalArgumentException("maxAttempts: " + maxAttempts + " (expected: 1-10)");
    }
    return new ConnectRetryPolicy(maxAttempts);
  }

  /** Returns the most connects one client connection may try, the first included. */
  int maxAttempts() {
    return maxAttempts;
  }

  /**
   * Returns where the next connect of {@code flow} goes after {@code attempts} failed ones, or null
   * when there is to be no other attempt: {@code maxAttempts} reached, or the balancer refuses
   * (every candidate tried, no rule, flow table full). The refusal is final for this connection: a
   * retry never waits for a backend to come back.
   *
   * @param tried the ids of the backends tried so far, in {@code tried[0..attempts-1]}
   */
  Selection next(LoadBalancer lb, FlowKey flow, int attempts, String[] tried) {
    if (attempts >= maxAttempts) {
      return null;
    }
    Selection s = lb.reselect(flow, attempts, tried, attempts);
    return s.isSelected() ? s : null;
  }

  /**
   * Records that the connection of {@code flow} is closed after its {@code attempts} connects to
   * {@code tried[0..attempts)} failed, the last to {@code target} with {@code cause}: logged once
   * per set of failed backends ({@link GiveUpLog}).
   */
  void gaveUp(
      String rule, FlowKey flow, int attempts, String[] tried, Object target, Throwable cause) {
    giveUps.gaveUp(rule, flow, attempts, tried, target, cause, System.nanoTime());
  }

  /** Returns how many connections this policy gave up on. */
  long giveUps() {
    return giveUps.total();
  }

  @Override
  public String toString() {
    return "ConnectRetryPolicy{maxAttempts=" + maxAttempts + "}";
  }
}
