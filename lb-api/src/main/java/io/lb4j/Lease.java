package io.lb4j;

import java.net.InetSocketAddress;

/**
 * A backend held for the life of one client connection: the selection a client keeps while its
 * connection to the backend is open, from {@link LoadBalancer#lease(String)}, {@link
 * LoadBalancer#leaseByKey(String, long)} or {@link LoadBalancer#lease(FlowKey)}.
 *
 * <p>A lease is to a client connection what a flow-table entry is to a proxied one:
 *
 * <ul>
 *   <li><b>counted as load</b>: least connections, bounded load and {@link
 *       LoadBalancer#activeFlows(String, String)} see it from the moment it is granted until it
 *       ends;
 *   <li><b>pinned</b>: membership, weight and health changes do not move it; the backend it names
 *       is the one its connection uses until the connection closes;
 *   <li><b>ended by the balancer</b> through the same events that end a proxied flow: the backend
 *       set {@link AdminState#DISABLED}, and the rule's drain deadline for a backend unhealthy or
 *       removed under {@link UnhealthyFlowPolicy#CLOSE_AFTER_DRAIN_TIMEOUT}. The callbacks given to
 *       {@link #onEnded} then run (the connectors close their connection there), and the load is
 *       released;
 *   <li><b>released exactly once</b>, by {@link #close()} or by the balancer's end, whichever comes
 *       first; later calls do nothing.
 * </ul>
 *
 * <p>A lease that becomes unreachable without {@link #close()} is reported, as Netty reports a
 * leaked buffer: an {@code ERROR} on the {@code io.lb4j.leak} logger naming the rule and backend
 * (and where the lease was taken, when the balancer records that), and its load is released.
 *
 * <p>When no backend could be chosen the lease is granted nothing: {@link #isGranted()} is false,
 * {@link #selection()} says why, and {@link #close()} does nothing.
 *
 * <p>Thread-safe.
 */
public interface Lease extends AutoCloseable {

  /** {@return the answer the lease was granted on: the backend and target, or why there is none} */
  Selection selection();

  /**
   * Returns whether a backend was chosen: {@code selection().isSelected()}.
   *
   * @return true if a backend was chosen, even if the lease has ended since
   */
  default boolean isGranted() {
    return selection().isSelected();
  }

  /** {@return the rule the lease was taken on} */
  String rule();

  /** {@return the backend held, or null when the lease was granted nothing} */
  default Backend backend() {
    return selection().backend();
  }

  /** {@return the address to connect to, or null when the lease was granted nothing} */
  default InetSocketAddress target() {
    return selection().target();
  }

  /**
   * Returns the hash the backend was chosen by: the key's ({@link LoadBalancer#keyHash}), a random
   * one for a lease taken without a key, the flow's for a flow lease.
   *
   * @return the 64-bit hash the selector was given
   */
  long hash();

  /** {@return the flow of a lease taken with {@link LoadBalancer#lease(FlowKey)}, else null} */
  FlowKey flow();

  /** {@return whether the lease holds its backend: granted, not closed and not ended} */
  boolean isActive();

  /**
   * Returns why the lease stopped holding its backend — {@code "closed"}, or the balancer's reason
   * ({@code "backend DISABLED"}, {@code "backend unhealthy for the rule's drain timeout (5m)"}) —
   * or null while it is active.
   *
   * @return the reason, or null while the lease is active
   */
  String endReason();

  /**
   * Runs {@code callback} with the reason when the balancer ends the lease (not when it is closed):
   * at once, on the calling thread, when it has already ended; otherwise on the balancer's control
   * thread. A connector closes its connection here. Callbacks must be quick and must not block.
   *
   * <p>The balancer holds the callback while the lease is active: a callback that refers strongly
   * to whatever holds the lease keeps the lease reachable, and then a lease dropped without {@code
   * close()} cannot be found. Refer to the connection through a {@link java.lang.ref.WeakReference}
   * (lb4j's connectors do).
   *
   * @param callback receives the reason; quick, non-blocking, and holding the connection weakly
   */
  void onEnded(java.util.function.Consumer<String> callback);

  /**
   * Counts as activity of a flow lease, so its flow-table entry does not idle out while the
   * connection is in use; does nothing for a key lease. Cheap; the connectors call it when their
   * streams move bytes.
   */
  void touch();

  /** Releases the backend, once; later calls and calls on an ended lease do nothing. */
  @Override
  void close();
}
