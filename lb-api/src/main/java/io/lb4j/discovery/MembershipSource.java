package io.lb4j.discovery;

import java.util.List;

/**
 * Where a backend pool's members come from: DNS, an xDS management server, Kubernetes, a file. A
 * balancer attaches one source per pool ({@code L4LoadBalancer.attach}) and applies each answer as
 * one reconfiguration of the pool: members added join, members gone leave through the drain path
 * (their established flows stay), weights and states change in place.
 *
 * <p>A source delivers <b>complete</b> answers — the whole membership each time, never a delta — to
 * its {@link Listener}, from any thread, never on a caller's data path and never blocking an event
 * loop. It says so when it cannot answer ({@link Listener#onFailure}); the balancer then keeps the
 * last good members and reports the source as failing, with the age of its last good answer.
 *
 * <p>Implementations must be thread-safe.
 */
public interface MembershipSource extends AutoCloseable {

  /** Receives a source's answers. Thread-safe; calls are quick. */
  interface Listener {
    /**
     * The source's complete answer: every member, possibly none (an explicitly empty answer, which
     * the balancer applies only within its guard). Ids must be unique.
     *
     * @param members the whole membership; unique ids
     */
    void onMembers(List<Member> members);

    /**
     * The source could not answer: a timeout, SERVFAIL, NXDOMAIN, a lost stream, a malformed
     * update. {@code reason} says what and where, for the operator.
     *
     * @param reason what failed and where, such as {@code SERVFAIL for _http._tcp.web.test from
     *     127.0.0.53:5353}
     */
    void onFailure(String reason);
  }

  /**
   * Returns what the source asks and of whom, for the operator: {@code dns SRV _http._tcp.web.test
   * via 127.0.0.53:5353}, {@code xds eds cluster 'web' from 127.0.0.1:18000}.
   *
   * @return one line for the operator
   */
  String describe();

  /**
   * Starts answering to {@code listener}; called once. Must not block for long.
   *
   * @param listener receives every answer and failure, from any thread, one at a time
   */
  void start(Listener listener);

  /** Stops the source: no answer after it returns. */
  @Override
  void close();
}
