package io.lb4j.netty;

import io.lb4j.FlowKey;
import io.lb4j.LoadBalancer;
import io.lb4j.Selection;

/**
 * How many connects one client connection may try, and which backend each one goes to.
 *
 * <ul>
 *   <li>Attempt 1 goes where {@link LoadBalancer#select} sent the flow.
 *   <li>After attempt {@code n} failed (refused, timed out, unreachable; each failure is reported
 *       to passive health first), attempt {@code n + 1} goes to the first of {@link
 *       LoadBalancer#reselect reselect(flow, n * 16 + k)}, {@code k = 1..16}, that names a backend
 *       this connection has not tried. A retry number derives a new hash from the flow's, as Envoy
 *       does for retries, so one draw may land on a backend already tried: hence {@value
 *       #DRAWS_PER_ATTEMPT} draws, numbered so that no two attempts share one.
 *   <li>There is no further attempt when {@link #maxAttempts()} connects were made, when every draw
 *       named a backend already tried, or when the balancer answers that it selected nothing (no
 *       available backend, flow table full): see {@link #next}, the one place that decides what a
 *       refusal means for a retry.
 * </ul>
 *
 * <p>{@link RuleOptions#maxConnectAttempts()} (3 by default, HAProxy's {@code retries 3} with
 * {@code option redispatch}) sets {@link #maxAttempts()}. A route holds one policy, shared by its
 * connections; the tried backends are the connection's own.
 *
 * <p>Immutable and thread-safe.
 */
final class ConnectRetryPolicy {
  /** Draws of {@code reselect} per attempt before giving up on finding an untried backend. */
  static final int DRAWS_PER_ATTEMPT = 16;

  private final int maxAttempts;

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
   * when there is to be no other attempt.
   *
   * @param tried the ids of the backends tried so far, in {@code tried[0..attempts-1]}
   */
  Selection next(LoadBalancer lb, FlowKey flow, int attempts, String[] tried) {
    if (attempts >= maxAttempts) {
      return null;
    }
    for (int k = 1; k <= DRAWS_PER_ATTEMPT; k++) {
      Selection s = lb.reselect(flow, attempts * DRAWS_PER_ATTEMPT + k);
      if (!s.isSelected()) {
        return afterRefusal(s);
      }
      if (!contains(tried, attempts, s.backend().id())) {
        return s;
      }
    }
    return null;
  }

  /**
   * Decides what a retry does when the balancer selects nothing: today it gives up, and the client
   * is closed. (With passive health ejecting backends, a refusal here can mean "every other backend
   * is ejected"; what to do then is this method's decision alone.)
   */
  private static Selection afterRefusal(Selection refusal) {
    return null;
  }

  private static boolean contains(String[] ids, int count, String id) {
    for (int i = 0; i < count; i++) {
      if (ids[i].equals(id)) {
        return true;
      }
    }
    return false;
  }

  @Override
  public String toString() {
    return "ConnectRetryPolicy{maxAttempts=" + maxAttempts + "}";
  }
}
