package io.lb4j.grpc;

import io.grpc.ChannelLogger.ChannelLogLevel;
import io.grpc.ConnectivityState;
import io.grpc.ConnectivityStateInfo;
import io.grpc.EquivalentAddressGroup;
import io.grpc.LoadBalancer;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.SynchronizationContext;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.RejectedExecutionException;

/**
 * gRPC's load-balancing policy {@value Lb4jGrpc#POLICY_NAME}: one subchannel per backend the lb4j
 * resolver delivers, and a {@link Lb4jPicker} that asks lb4j for each RPC.
 *
 * <ul>
 *   <li><b>Rotation is lb4j's.</b> The picker leases through the balancer, so a backend lb4j keeps
 *       out (unhealthy by probe or passive ejection, forced down, draining, weight 0) gets no new
 *       RPCs whatever its subchannel's state; a subchannel that is not {@code READY} only makes the
 *       picker try the next attempt or wait (see {@link Lb4jPicker}).
 *   <li><b>Passive health.</b> Each subchannel {@code TRANSIENT_FAILURE} (a connection attempt that
 *       failed) is reported with {@link io.lb4j.LoadBalancer#reportConnectFailure}, each {@code
 *       READY} with {@link io.lb4j.LoadBalancer#reportConnectSuccess}: the rule's outlier detection
 *       ejects a backend this channel cannot reach.
 *   <li><b>Connections.</b> Every subchannel connects at once and reconnects when it goes {@code
 *       IDLE}, as round_robin does, so that keyed RPCs find their backend connected.
 *   <li><b>Pickers.</b> A new picker is published on every change of a subchannel's state, of the
 *       membership, and on every health or configuration event of the balancer, so that RPCs
 *       waiting (wait-for-ready, or for a connection) are picked again.
 * </ul>
 *
 * <p>Aggregate state: {@code READY} if a subchannel is; else {@code CONNECTING} if one is
 * connecting or idle; else {@code TRANSIENT_FAILURE}.
 *
 * <p>Not thread-safe: gRPC calls it in its synchronization context; balancer events are moved
 * there.
 */
final class Lb4jPolicy extends LoadBalancer {

  private final Helper helper;
  private final SynchronizationContext syncContext;
  private final Map<String, Endpoint> endpoints = new LinkedHashMap<>();

  private io.lb4j.LoadBalancer balancer;
  private String rule;
  private Metadata.Key<String> keyHeader;
  private Runnable unsubscribe;
  private boolean shutdown;

  Lb4jPolicy(Helper helper) {
    this.helper = helper;
    this.syncContext = helper.getSynchronizationContext();
  }

  @Override
  public Status acceptResolvedAddresses(ResolvedAddresses resolved) {
    if (shutdown) {
      return Status.OK;
    }
    io.lb4j.LoadBalancer lb = resolved.getAttributes().get(Lb4jNameResolver.BALANCER);
    String ruleName = resolved.getAttributes().get(Lb4jNameResolver.RULE);
    if (lb == null || ruleName == null) {
      return refuse(
          "lb4j policy: the addresses "
              + resolved.getAddresses()
              + " do not come from the lb4j resolver (expected: a target lb4j:///<rule> or"
              + " lb4j://<name>/<rule>)");
    }
    Map<String, EquivalentAddressGroup> wanted = new HashMap<>();
    for (EquivalentAddressGroup eag : resolved.getAddresses()) {
      String id = eag.getAttributes().get(Lb4jGrpc.BACKEND_ID);
      if (id == null) {
        return refuse("lb4j policy: address group " + eag + " has no lb4j backend id");
      }
      wanted.put(id, eag);
    }
    Object config = resolved.getLoadBalancingPolicyConfig();
    keyHeader = (config instanceof Lb4jPolicyConfig c ? c : Lb4jPolicyConfig.DEFAULT).headerKey();
    if (lb != balancer) {
      if (unsubscribe != null) {
        unsubscribe.run();
      }
      balancer = lb;
      unsubscribe = BalancerEvents.subscribe(lb, new Events());
    }
    rule = ruleName;

    List<Endpoint> gone = new ArrayList<>();
    for (Iterator<Endpoint> it = endpoints.values().iterator(); it.hasNext(); ) {
      Endpoint e = it.next();
      if (!e.addresses.equals(wanted.get(e.backendId))) {
        gone.add(e);
        it.remove();
      }
    }
    List<Endpoint> added = new ArrayList<>();
    for (EquivalentAddressGroup eag : resolved.getAddresses()) {
      String id = eag.getAttributes().get(Lb4jGrpc.BACKEND_ID);
      if (!endpoints.containsKey(id)) {
        Subchannel sc =
            helper.createSubchannel(CreateSubchannelArgs.newBuilder().setAddresses(eag).build());
        Endpoint e = new Endpoint(id, eag, sc);
        endpoints.put(id, e);
        added.add(e);
        sc.start(info -> onSubchannelState(e, info));
      }
    }
    if (!gone.isEmpty() || !added.isEmpty()) {
      helper
          .getChannelLogger()
          .log(
              ChannelLogLevel.INFO,
              "lb4j rule {0}: added {1}, removed {2}",
              rule,
              ids(added),
              ids(gone));
    }
    publish(); // before the removed shut down: no new pick lands on them
    for (Endpoint e : gone) {
      e.shutdown();
    }
    for (Endpoint e : added) {
      e.subchannel.requestConnection();
    }
    return Status.OK;
  }

  private Status refuse(String message) {
    Status error = Status.UNAVAILABLE.withDescription(message);
    handleNameResolutionError(error);
    return error;
  }

  @Override
  public void handleNameResolutionError(Status error) {
    if (shutdown || !endpoints.isEmpty()) {
      return; // keep serving the backends known; the resolver retries
    }
    helper.updateBalancingState(
        ConnectivityState.TRANSIENT_FAILURE, new FixedResultPicker(PickResult.withError(error)));
  }

  private void onSubchannelState(Endpoint e, ConnectivityStateInfo info) {
    if (shutdown || endpoints.get(e.backendId) != e) {
      return; // removed: its state no longer matters
    }
    ConnectivityState s = info.getState();
    if (s == ConnectivityState.SHUTDOWN) {
      return;
    }
    if (s == ConnectivityState.TRANSIENT_FAILURE) {
      balancer.reportConnectFailure(rule, e.backendId);
    } else if (s == ConnectivityState.READY) {
      balancer.reportConnectSuccess(rule, e.backendId);
    }
    boolean changed = e.update(info);
    if (s == ConnectivityState.IDLE) {
      e.subchannel.requestConnection();
    }
    if (changed) {
      publish();
    }
  }

  /** Publishes a new picker with the aggregate state. */
  private void publish() {
    if (shutdown || balancer == null) {
      return;
    }
    boolean ready = false;
    boolean connecting = false;
    for (Endpoint e : endpoints.values()) {
      ConnectivityState s = e.state();
      ready |= s == ConnectivityState.READY;
      connecting |= s == ConnectivityState.CONNECTING || s == ConnectivityState.IDLE;
    }
    ConnectivityState aggregate =
        ready
            ? ConnectivityState.READY
            : connecting ? ConnectivityState.CONNECTING : ConnectivityState.TRANSIENT_FAILURE;
    helper.updateBalancingState(
        aggregate, new Lb4jPicker(balancer, rule, keyHeader, endpoints, syncContext));
  }

  @Override
  public void requestConnection() {
    for (Endpoint e : endpoints.values()) {
      if (e.state() == ConnectivityState.IDLE) {
        e.subchannel.requestConnection();
      }
    }
  }

  @Override
  public void shutdown() {
    shutdown = true;
    if (unsubscribe != null) {
      unsubscribe.run();
      unsubscribe = null;
    }
    for (Endpoint e : endpoints.values()) {
      e.shutdown();
    }
    endpoints.clear();
  }

  /** Returns the endpoints by backend id; for tests, in the synchronization context. */
  Map<String, Endpoint> endpoints() {
    return endpoints;
  }

  private static List<String> ids(List<Endpoint> endpoints) {
    List<String> ids = new ArrayList<>(endpoints.size());
    for (Endpoint e : endpoints) {
      ids.add(e.backendId);
    }
    return ids;
  }

  /**
   * Health and configuration events of the balancer: a new picker, in the context. A
   * reconfiguration is told outside the balancer's lock, so the context may run on the changing
   * thread; a health change is told under it (L4LoadBalancer's control plane), so the task first
   * moves to the channel's timer thread: no gRPC work under another component's lock, as the
   * LoadBalancer javadoc asks.
   */
  private final class Events implements BalancerEvents.Subscriber {
    @Override
    public void reconfigured() {
      syncContext.execute(Lb4jPolicy.this::publish);
    }

    @Override
    public void healthChanged(String changed) {
      Runnable republish =
          () ->
              syncContext.execute(
                  () -> {
                    if (changed.equals(rule)) {
                      publish();
                    }
                  });
      try {
        helper.getScheduledExecutorService().execute(republish);
      } catch (RejectedExecutionException e) {
        // the channel is shutting down: no picker to publish
      }
    }
  }

  @Override
  public String toString() {
    return "Lb4jPolicy(" + rule + ", " + endpoints.values() + ")";
  }
}
