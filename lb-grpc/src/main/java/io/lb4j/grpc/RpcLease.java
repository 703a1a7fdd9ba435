package io.lb4j.grpc;

import io.grpc.ClientStreamTracer;
import io.grpc.Metadata;
import io.grpc.Status;
import io.lb4j.Lease;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The lb4j {@link Lease} of one picked RPC, as the stream tracer factory of its pick: the lease is
 * released when the RPC's stream closes, so least connections and bounded load count RPCs in
 * flight; or when the pick is abandoned before a stream was created ({@link Endpoint}).
 *
 * <p>States: pending (picked), streaming (the stream was created), ended (released). Exactly one
 * transition into ended releases the lease.
 *
 * <p>Thread-safe.
 */
final class RpcLease extends ClientStreamTracer.Factory {

  private static final int PENDING = 0;
  private static final int STREAMING = 1;
  private static final int ENDED = 2;

  private static final VarHandle STATE;

  static {
    try {
      STATE = MethodHandles.lookup().findVarHandle(RpcLease.class, "state", int.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  /** The tracer of a stream whose pick was abandoned: its lease is already released. */
  private static final ClientStreamTracer UNCOUNTED = new ClientStreamTracer() {};

  private final Lease lease;
  private final Endpoint endpoint;

  @SuppressWarnings("unused") // through STATE
  private volatile int state = PENDING;

  RpcLease(Lease lease, Endpoint endpoint) {
    this.lease = lease;
    this.endpoint = endpoint;
  }

  /** Returns the lease; for tests and messages. */
  Lease lease() {
    return lease;
  }

  @Override
  public ClientStreamTracer newClientStreamTracer(
      ClientStreamTracer.StreamInfo info, Metadata headers) {
    if (!STATE.compareAndSet(this, PENDING, STREAMING)) {
      return UNCOUNTED; // the endpoint left READY first and released the lease
    }
    endpoint.detach(this);
    return new ClientStreamTracer() {
      @Override
      public void streamClosed(Status status) {
        if (STATE.compareAndSet(RpcLease.this, STREAMING, ENDED)) {
          lease.close();
        }
      }
    };
  }

  /** Releases the lease if no stream took it; returns whether this call released it. */
  boolean abandon() {
    if (!STATE.compareAndSet(this, PENDING, ENDED)) {
      return false;
    }
    endpoint.detach(this);
    lease.close();
    return true;
  }

  @Override
  public String toString() {
    return "RpcLease(" + lease.rule() + " -> " + endpoint.backendId + ")";
  }
}
