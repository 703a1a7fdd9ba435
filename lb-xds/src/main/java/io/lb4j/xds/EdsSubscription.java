package io.lb4j.xds;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.Resource;
import io.envoyproxy.envoy.service.endpoint.v3.EndpointDiscoveryServiceGrpc;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ClientResponseObserver;
import io.lb4j.Durations;
import io.lb4j.discovery.Member;
import io.lb4j.discovery.MembershipSource;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One cluster's endpoint subscription over a state-of-the-world xDS v3 stream: ADS ({@code
 * StreamAggregatedResources}) or EDS alone ({@code StreamEndpoints}), the same messages on both.
 *
 * <ul>
 *   <li>Each request carries the node, the cluster as the only resource name and the EDS type URL.
 *   <li>Each response is answered once it has been applied: an ACK ({@code version_info} and {@code
 *       response_nonce} of the response), or for an update lb4j refuses, a NACK ({@code
 *       version_info} of the last accepted update, the response's nonce, and an {@code
 *       error_detail} naming the refused field), the last good members kept and the listener told.
 *       A server that re-sends a refused version at once (java-control-plane's {@code SimpleCache}
 *       does) gets its repeated NACKs after a growing delay, not in a tight loop.
 *   <li>A lost stream is reported to the listener and reopened after an exponential back-off with
 *       jitter, which restarts from its initial delay once a stream has received a response; the
 *       new stream's first request carries the last accepted version, so the server may skip an
 *       update the source already has.
 * </ul>
 *
 * <p>Not thread-safe by itself: every method but {@link #start} and {@link #stop} runs on the
 * source's executor, which serializes them; gRPC's callbacks are posted there.
 */
final class EdsSubscription {
  static final String CLA_TYPE_URL =
      "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";
  static final String RESOURCE_TYPE_URL = "type.googleapis.com/envoy.service.discovery.v3.Resource";

  private static final Logger logger = LoggerFactory.getLogger(XdsMembershipSource.class);

  private final String describe;
  private final String cluster;
  private final String server;
  private final Node node;
  private final MethodDescriptor<DiscoveryRequest, DiscoveryResponse> method;
  private final Supplier<ManagedChannel> channels;
  private final Executor executor;
  private final Delays delays;
  private final Backoff reconnect;
  private final Backoff renack;
  private final MembershipSource.Listener listener;

  // Touched on the executor only.
  private boolean stopped;
  private Stream current;
  private Future<?> timer;
  private String acceptedVersion = "";
  private String refusedVersion;
  private String refusedDetail;
  private boolean connected; // a stream received a response since the last loss was logged
  private boolean lossLogged;

  EdsSubscription(
      String describe,
      XdsMembershipSource.Mode mode,
      String cluster,
      String server,
      Node node,
      Supplier<ManagedChannel> channels,
      Executor executor,
      Delays delays,
      Backoff reconnect,
      Backoff renack,
      MembershipSource.Listener listener) {
    this.describe = describe;
    this.cluster = cluster;
    this.server = server;
    this.node = node;
    this.method =
        mode == XdsMembershipSource.Mode.ADS
            ? AggregatedDiscoveryServiceGrpc.getStreamAggregatedResourcesMethod()
            : EndpointDiscoveryServiceGrpc.getStreamEndpointsMethod();
    this.channels = channels;
    this.executor = executor;
    this.delays = delays;
    this.reconnect = reconnect;
    this.renack = renack;
    this.listener = listener;
  }

  /** Opens the first stream, on the executor. */
  void start() {
    post(this::connect);
  }

  /** Cancels the stream and any pending reconnect, on the executor; nothing is sent after it. */
  void stop() {
    post(
        () -> {
          stopped = true;
          cancelTimer();
          if (current != null) {
            current.close("lb4j closed the source");
            current = null;
          }
        });
  }

  /** Runs {@code task} on the executor; dropped once the source has shut the executor down. */
  private void post(Runnable task) {
    try {
      executor.execute(task);
    } catch (RejectedExecutionException closed) {
      // the source is closed: a late gRPC callback or timer has nothing left to do
    }
  }

  private void cancelTimer() {
    if (timer != null) {
      timer.cancel(false);
      timer = null;
    }
  }

  private void connect() {
    if (stopped) {
      return;
    }
    timer = null;
    ManagedChannel channel;
    try {
      channel = channels.get();
    } catch (RuntimeException e) { // ManagedChannelProvider.ProviderNotFoundException
      Duration wait = reconnect.next();
      listener.onFailure(
          "cannot open a gRPC channel to "
              + server
              + ": "
              + e.getMessage()
              + " (expected: a gRPC transport such as grpc-netty-shaded on the classpath)");
      timer = delays.schedule(() -> post(this::connect), wait);
      return;
    }
    Stream s = new Stream(channel);
    current = s;
    ClientCalls.asyncBidiStreamingCall(channel.newCall(method, CallOptions.DEFAULT), s);
    s.send(request(acceptedVersion, "", null, CLA_TYPE_URL));
  }

  private DiscoveryRequest request(String version, String nonce, String error, String typeUrl) {
    DiscoveryRequest.Builder r =
        DiscoveryRequest.newBuilder()
            .setVersionInfo(version)
            .setNode(node) // on every request: servers such as java-control-plane read it each time
            .setTypeUrl(typeUrl)
            .setResponseNonce(nonce);
    if (typeUrl.equals(CLA_TYPE_URL)) {
      r.addResourceNames(cluster);
    }
    if (error != null) {
      r.setErrorDetail(
          com.google.rpc.Status.newBuilder()
              .setCode(Status.Code.INVALID_ARGUMENT.value())
              .setMessage(error));
    }
    return r.build();
  }

  private void onResponse(Stream s, DiscoveryResponse response) {
    if (s != current || stopped) {
      return;
    }
    if (!connected) {
      connected = true;
      reconnect.reset();
      if (lossLogged) {
        logger.info("{}: stream open again, version '{}'", describe, response.getVersionInfo());
        lossLogged = false;
      }
    }
    String version = response.getVersionInfo();
    String nonce = response.getNonce();
    List<Member> members;
    try {
      ClusterLoadAssignment cla = assignment(response);
      members = cla == null ? null : LoadAssignments.members(cla);
    } catch (RefusedUpdate refused) {
      nack(s, response, "cluster '" + cluster + "': " + refused.getMessage());
      return;
    }
    refusedVersion = null;
    refusedDetail = null;
    renack.reset();
    if (members != null) {
      listener.onMembers(members);
    } else {
      logger.debug("{}: version '{}' has no assignment for the cluster", describe, version);
    }
    acceptedVersion = version;
    s.send(request(version, nonce, null, CLA_TYPE_URL));
  }

  /** Refuses {@code response}: tells the listener, NACKs at once, or later when repeated. */
  private void nack(Stream s, DiscoveryResponse response, String detail) {
    String version = response.getVersionInfo();
    boolean repeated = version.equals(refusedVersion) && detail.equals(refusedDetail);
    refusedVersion = version;
    refusedDetail = detail;
    listener.onFailure(
        "update version '"
            + version
            + "' refused (NACK, keeping version '"
            + acceptedVersion
            + "'): "
            + detail);
    DiscoveryRequest nack =
        request(acceptedVersion, response.getNonce(), detail, response.getTypeUrl());
    if (!repeated) {
      logger.warn("{}: NACK of version '{}': {}", describe, version, detail);
      renack.reset();
      s.send(nack);
      return;
    }
    Duration wait = renack.next();
    logger.debug("{}: version '{}' again, NACK in {}", describe, version, wait);
    timer =
        delays.schedule(
            () ->
                post(
                    () -> {
                      if (s == current && !stopped) {
                        timer = null;
                        s.send(nack);
                      }
                    }),
            wait);
  }

  /** Returns the response's assignment for the cluster, null if it has none. */
  private ClusterLoadAssignment assignment(DiscoveryResponse response) throws RefusedUpdate {
    if (!response.getTypeUrl().equals(CLA_TYPE_URL)) {
      throw new RefusedUpdate(
          "type_url: '"
              + response.getTypeUrl()
              + "' (expected: "
              + CLA_TYPE_URL
              + ", the only type lb4j subscribes to)");
    }
    ClusterLoadAssignment found = null;
    int foundAt = -1;
    for (int i = 0; i < response.getResourcesCount(); i++) {
      String at = "resources[" + i + "]";
      Any any = response.getResources(i);
      try {
        if (any.getTypeUrl().equals(RESOURCE_TYPE_URL)) {
          any = any.unpack(Resource.class).getResource();
          at += ".resource";
        }
        if (!any.getTypeUrl().equals(CLA_TYPE_URL)) {
          throw new RefusedUpdate(
              at + ".type_url: '" + any.getTypeUrl() + "' (expected: " + CLA_TYPE_URL + ")");
        }
        ClusterLoadAssignment cla = any.unpack(ClusterLoadAssignment.class);
        if (cla.getClusterName().equals(cluster)) {
          if (found != null) {
            throw new RefusedUpdate(
                at
                    + ".cluster_name: '"
                    + cluster
                    + "' is also resources["
                    + foundAt
                    + "] (expected: one assignment per cluster)");
          }
          found = cla;
          foundAt = i;
        }
      } catch (InvalidProtocolBufferException e) {
        throw new RefusedUpdate(at + ": unreadable (" + e.getMessage() + ")");
      }
    }
    return found;
  }

  private void onLost(Stream s, String why) {
    if (s != current || stopped) {
      return;
    }
    current = null;
    s.close(null);
    cancelTimer();
    Duration wait = reconnect.next();
    String reason =
        "stream to "
            + server
            + " lost: "
            + why
            + "; reconnecting in "
            + Durations.format(Duration.ofMillis(Math.max(1, wait.toMillis())));
    if (connected || !lossLogged) { // the balancer logs the state change; this adds detail
      logger.info("{}: {}", describe, reason);
      lossLogged = true;
    } else {
      logger.debug("{}: {}", describe, reason);
    }
    connected = false;
    listener.onFailure(reason);
    timer = delays.schedule(() -> post(this::connect), wait);
  }

  /**
   * One stream on a channel of its own, its callbacks posted to the executor; a replaced stream's
   * are ignored there. A channel per attempt: a new channel connects when the call starts and the
   * call fails if that connection does, so this class's back-off alone paces the attempts (a
   * channel kept in TRANSIENT_FAILURE would fail calls at once, or retry on its own schedule).
   */
  private final class Stream
      implements ClientResponseObserver<DiscoveryRequest, DiscoveryResponse> {
    private final ManagedChannel channel;
    private ClientCallStreamObserver<DiscoveryRequest> requests;

    Stream(ManagedChannel channel) {
      this.channel = channel;
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<DiscoveryRequest> requests) {
      this.requests = requests;
    }

    void send(DiscoveryRequest request) {
      requests.onNext(request);
    }

    /** Cancels the call if {@code why} is given, and shuts the channel down. */
    void close(String why) {
      if (why != null) {
        requests.cancel(why, null);
      }
      channel.shutdownNow();
    }

    @Override
    public void onNext(DiscoveryResponse response) {
      post(() -> onResponse(this, response));
    }

    @Override
    public void onError(Throwable t) {
      Status status = Status.fromThrowable(t);
      String why =
          status.getCode()
              + (status.getDescription() == null ? "" : ": " + status.getDescription());
      post(() -> onLost(this, why));
    }

    @Override
    public void onCompleted() {
      post(() -> onLost(this, "the server ended the stream"));
    }
  }
}
