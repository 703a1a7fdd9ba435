package io.lb4j.grpc;

import io.grpc.CallOptions;
import io.grpc.ConnectivityState;
import io.grpc.LoadBalancer.PickResult;
import io.grpc.LoadBalancer.PickSubchannelArgs;
import io.grpc.LoadBalancer.SubchannelPicker;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.SynchronizationContext;
import io.lb4j.Lease;
import io.lb4j.LoadBalancer;
import java.util.Iterator;
import java.util.Map;

/**
 * Picks the subchannel of each RPC through lb4j: the RPC's key hash ({@link Lb4jGrpc#KEY_HASH},
 * else {@code keyHash} of {@link Lb4jGrpc#KEY}, else of the key header) is leased with {@link
 * LoadBalancer#leaseByKeyHash} — the rule's selector with its weights, health and bounded load —
 * and an RPC without a key is leased with {@link LoadBalancer#lease(String)}, the rule's scheduler.
 * The lease is the stream tracer factory of the pick and is released when the stream closes.
 *
 * <p>When the chosen backend's subchannel is not {@code READY}:
 *
 * <ul>
 *   <li>{@code TRANSIENT_FAILURE} (sticky until {@code READY}, see {@link Endpoint}): the next
 *       attempt, {@code leaseByKeyHash(rule, hash, attempt, tried, n)}, a backend not tried yet;
 *   <li>{@code CONNECTING}, {@code IDLE}, or no subchannel yet (a member the resolver has not
 *       delivered): an RPC with a key waits for it (no result: gRPC queues the RPC until the next
 *       picker), so a key does not leave its backend while that backend connects; an RPC without a
 *       key tries the next attempt and waits only if no attempt finds a {@code READY} one.
 * </ul>
 *
 * A refusal by lb4j (no rule, no backend available: all unhealthy, draining, disabled) fails the
 * RPC with {@link Status#UNAVAILABLE} and lb4j's explanation; a wait-for-ready RPC waits for the
 * next picker instead, which the policy publishes on every health and configuration change.
 *
 * <p>The picker is immutable but for the endpoints' states, which it reads live. Picking takes one
 * lease (two allocations) and one concurrent-set insertion and removal; no lock.
 *
 * <p>Thread-safe.
 */
final class Lb4jPicker extends SubchannelPicker {

  private static final String[] NONE_TRIED = new String[0];

  private static final PickResult WAIT =
      PickResult.withNoResult("lb4j", "waiting for the backend's connection");

  private final LoadBalancer balancer;
  private final String rule;
  private final Metadata.Key<String> keyHeader;
  private final Map<String, Endpoint> endpoints;
  private final boolean anyReady;
  private final boolean anyConnecting;
  private final SynchronizationContext syncContext;

  Lb4jPicker(
      LoadBalancer balancer,
      String rule,
      Metadata.Key<String> keyHeader,
      Map<String, Endpoint> endpoints,
      SynchronizationContext syncContext) {
    this.balancer = balancer;
    this.rule = rule;
    this.keyHeader = keyHeader;
    this.endpoints = Map.copyOf(endpoints);
    this.syncContext = syncContext;
    boolean ready = false;
    boolean connecting = false;
    for (Endpoint e : this.endpoints.values()) {
      ready |= e.state() == ConnectivityState.READY;
      connecting |=
          e.state() == ConnectivityState.CONNECTING || e.state() == ConnectivityState.IDLE;
    }
    this.anyReady = ready;
    this.anyConnecting = connecting;
  }

  @Override
  public PickResult pickSubchannel(PickSubchannelArgs args) {
    if (!anyReady && !anyConnecting && !endpoints.isEmpty()) {
      return noReadyBackend(null, null, 0); // every subchannel failing: no walk over them
    }
    CallOptions options = args.getCallOptions();
    Long keyHash = options.getOption(Lb4jGrpc.KEY_HASH);
    if (keyHash != null) {
      return place(balancer.leaseByKeyHash(rule, keyHash, 0, NONE_TRIED, 0), keyHash, true);
    }
    String key = options.getOption(Lb4jGrpc.KEY);
    if (key == null && keyHeader != null) {
      key = header(args.getHeaders());
    }
    if (key != null) {
      long hash = balancer.keyHash(key);
      return place(balancer.leaseByKeyHash(rule, hash, 0, NONE_TRIED, 0), hash, true);
    }
    if (!anyReady && anyConnecting) {
      return WAIT; // any backend will do: the first to connect
    }
    Lease lease = balancer.lease(rule);
    return place(lease, lease.hash(), false);
  }

  /** Returns the key header's value, its values joined with commas as gRFC A76 does, or null. */
  private String header(Metadata headers) {
    Iterable<String> values = headers.getAll(keyHeader);
    if (values == null) {
      return null;
    }
    Iterator<String> it = values.iterator();
    String first = it.next();
    if (!it.hasNext()) {
      return first;
    }
    StringBuilder joined = new StringBuilder(first);
    while (it.hasNext()) {
      joined.append(',').append(it.next());
    }
    return joined.toString();
  }

  /** Sends the RPC on {@code lease}'s backend, or tries the next attempt, or waits. */
  private PickResult place(Lease lease, long hash, boolean keyed) {
    String[] tried = NONE_TRIED;
    int triedCount = 0;
    boolean waitable = false;
    // Every attempt names a backend not tried before; lb4j may know one member more than the
    // resolver delivered so far.
    int maxAttempts = endpoints.size() + 2;
    for (int attempt = 0; ; ) {
      if (!lease.isGranted()) {
        if (waitable) {
          return WAIT;
        }
        return triedCount == 0
            ? PickResult.withError(Status.UNAVAILABLE.withDescription("lb4j: " + lease.selection()))
            : noReadyBackend(lease, tried, triedCount);
      }
      String id = lease.backend().id();
      Endpoint e = endpoints.get(id);
      ConnectivityState s = e == null ? null : e.state();
      if (s == ConnectivityState.READY) {
        RpcLease rpc = e.attach(lease);
        if (rpc != null) {
          return PickResult.withSubchannel(e.subchannel, rpc);
        }
        s = e.state(); // it left READY under us; attach released the lease
      } else {
        lease.close();
      }
      if (s == null || s == ConnectivityState.CONNECTING || s == ConnectivityState.IDLE) {
        if (s == ConnectivityState.IDLE) {
          requestConnection(e);
        }
        if (keyed) {
          return WAIT; // the key keeps its backend while it connects
        }
        waitable = true;
      }
      if (++attempt >= maxAttempts) {
        return waitable ? WAIT : noReadyBackend(null, tried, triedCount);
      }
      if (triedCount == tried.length) {
        String[] grown = new String[maxAttempts];
        System.arraycopy(tried, 0, grown, 0, triedCount);
        tried = grown;
      }
      tried[triedCount++] = id;
      lease = balancer.leaseByKeyHash(rule, hash, attempt, tried, triedCount);
    }
  }

  private void requestConnection(Endpoint e) {
    syncContext.execute(
        () -> {
          if (e.state() == ConnectivityState.IDLE) {
            e.subchannel.requestConnection();
          }
        });
  }

  /** Fails the RPC: no backend lb4j offered has a ready connection. Builds text: failures only. */
  private PickResult noReadyBackend(Lease last, String[] tried, int triedCount) {
    StringBuilder sb =
        new StringBuilder("lb4j rule '")
            .append(rule)
            .append("': no backend has a ready connection");
    if (tried == null) {
      sb.append(" (").append(endpoints.values()).append(')');
    } else {
      sb.append(" (tried:");
      for (int i = 0; i < triedCount; i++) {
        Endpoint e = endpoints.get(tried[i]);
        sb.append(' ').append(e == null ? tried[i] + " not connected yet" : e.toString());
        sb.append(i + 1 < triedCount ? "," : "");
      }
      sb.append(')');
      if (last != null) {
        sb.append("; then ").append(last.selection());
      }
    }
    return PickResult.withError(Status.UNAVAILABLE.withDescription(sb.toString()));
  }

  @Override
  public String toString() {
    return "Lb4jPicker(" + rule + ", " + endpoints.values() + ")";
  }
}
