package io.lb4j.grpc;

import io.grpc.ConnectivityState;
import io.grpc.ConnectivityStateInfo;
import io.grpc.EquivalentAddressGroup;
import io.grpc.LoadBalancer.Subchannel;
import io.grpc.Status;
import io.lb4j.Lease;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One backend's subchannel as the lb4j policy and its pickers see it: the connectivity state the
 * picker reads, and the RPC leases picked onto it whose streams have not started yet.
 *
 * <p><b>Sticky failure.</b> Once the subchannel reports {@code TRANSIENT_FAILURE}, the state the
 * picker reads stays {@code TRANSIENT_FAILURE} through the reconnect attempts ({@code CONNECTING},
 * {@code IDLE}) until the subchannel is {@code READY} again, as pick_first does (gRFC A62): a dead
 * backend is skipped, not waited for at each reconnect.
 *
 * <p><b>Pending leases.</b> A picker takes an lb4j {@link Lease} and returns the subchannel with a
 * {@link RpcLease} as its stream tracer factory; the stream, when gRPC creates it, releases the
 * lease as it closes. gRPC drops a pick without creating a stream when the subchannel's transport
 * went away between the pick and the stream, and then the lease would be held until garbage
 * collection. So each endpoint lists its pending leases: a picker adds the lease, then checks that
 * the endpoint is still {@code READY}; the policy, when the endpoint leaves {@code READY}, sets the
 * state, then releases every pending lease. Whichever runs second sees the other's write (a
 * volatile write and a concurrent-set insertion each followed by a read of the other), so no lease
 * is left pending on an endpoint that is not {@code READY}; {@link RpcLease}'s state makes the
 * release happen once.
 *
 * <p>Thread-safe: the state is written in the synchronization context and read by pickers on any
 * thread.
 */
final class Endpoint {

  final String backendId;
  final EquivalentAddressGroup addresses;
  final Subchannel subchannel;

  private volatile ConnectivityState state = ConnectivityState.IDLE;
  private volatile Status lastFailure;
  private final Set<RpcLease> pending = ConcurrentHashMap.newKeySet();

  Endpoint(String backendId, EquivalentAddressGroup addresses, Subchannel subchannel) {
    this.backendId = backendId;
    this.addresses = addresses;
    this.subchannel = subchannel;
  }

  /** Returns the state pickers go by: the subchannel's, failure kept until {@code READY}. */
  ConnectivityState state() {
    return state;
  }

  /** Returns why the last connection attempt failed, or null. */
  Status lastFailure() {
    return lastFailure;
  }

  /**
   * Takes the subchannel's new state; returns whether the state pickers read changed. In the
   * synchronization context.
   */
  boolean update(ConnectivityStateInfo info) {
    ConnectivityState next = info.getState();
    if (next == ConnectivityState.TRANSIENT_FAILURE) {
      lastFailure = info.getStatus();
    }
    if (state == ConnectivityState.TRANSIENT_FAILURE
        && (next == ConnectivityState.CONNECTING || next == ConnectivityState.IDLE)) {
      return false; // sticky until READY
    }
    ConnectivityState before = state;
    state = next;
    if (next != ConnectivityState.READY) {
      releasePending();
    }
    return before != next;
  }

  /**
   * Holds {@code lease} for an RPC on this endpoint: returns the tracer factory that releases it
   * when the RPC's stream closes, or null — the lease released — when the endpoint is not {@code
   * READY}.
   */
  RpcLease attach(Lease lease) {
    RpcLease rpc = new RpcLease(lease, this);
    pending.add(rpc);
    if (state != ConnectivityState.READY) {
      rpc.abandon();
      return null;
    }
    return rpc;
  }

  /** Forgets {@code rpc}: its stream started, or its lease was released. */
  void detach(RpcLease rpc) {
    pending.remove(rpc);
  }

  /** Returns how many picked RPCs have not started their stream; for tests. */
  int pendingCount() {
    return pending.size();
  }

  /** Shuts the subchannel down and releases the pending leases. In the synchronization context. */
  void shutdown() {
    state = ConnectivityState.SHUTDOWN;
    releasePending();
    subchannel.shutdown();
  }

  private void releasePending() {
    for (RpcLease rpc : pending) {
      rpc.abandon();
    }
  }

  @Override
  public String toString() {
    Status failure = lastFailure;
    return backendId
        + " "
        + state
        + (state == ConnectivityState.TRANSIENT_FAILURE && failure != null
            ? " (" + failure.getCode() + ": " + failure.getDescription() + ")"
            : "");
  }
}
