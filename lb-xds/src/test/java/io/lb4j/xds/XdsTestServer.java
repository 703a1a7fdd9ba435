package io.lb4j.xds;

import com.google.protobuf.UInt32Value;
import io.envoyproxy.controlplane.cache.v3.SimpleCache;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.envoyproxy.controlplane.server.DiscoveryServerCallbacks;
import io.envoyproxy.controlplane.server.V3DiscoveryServer;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.envoyproxy.envoy.config.core.v3.Locality;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A real xDS management server for the tests: envoyproxy/java-control-plane's {@link
 * V3DiscoveryServer} over a {@link SimpleCache} (one group for every node), served by gRPC's Netty
 * transport on a loopback address and a port the kernel picks. Records every request and response
 * its callbacks see, so a test can check the ACKs and NACKs that reached it.
 *
 * <p>Thread-safe.
 */
public final class XdsTestServer implements AutoCloseable {
  public static final String GROUP = "lb4j-tests";

  final SimpleCache<String> cache = new SimpleCache<>(node -> GROUP);
  final BlockingQueue<DiscoveryRequest> requests = new LinkedBlockingQueue<>();
  final BlockingQueue<DiscoveryResponse> responses = new LinkedBlockingQueue<>();
  final BlockingQueue<Long> streamsClosed = new LinkedBlockingQueue<>();
  private final V3DiscoveryServer discovery;
  private final String host;
  private volatile Server server;
  private volatile int port;

  /** Starts a server on {@code host} (127.0.0.x), port from the kernel. */
  public XdsTestServer(String host) {
    this.host = host;
    this.discovery =
        new V3DiscoveryServer(
            new DiscoveryServerCallbacks() {
              @Override
              public void onV3StreamRequest(long streamId, DiscoveryRequest request) {
                requests.add(request);
              }

              @Override
              public void onV3StreamDeltaRequest(long streamId, DeltaDiscoveryRequest request) {}

              @Override
              public void onV3StreamResponse(
                  long streamId, DiscoveryRequest request, DiscoveryResponse response) {
                responses.add(response);
              }

              @Override
              public void onStreamClose(long streamId, String typeUrl) {
                streamsClosed.add(streamId);
              }

              @Override
              public void onStreamCloseWithError(long streamId, String typeUrl, Throwable error) {
                streamsClosed.add(streamId);
              }
            },
            cache);
    start(0);
  }

  /** Starts serving on {@code port}, 0 for one the kernel picks. */
  private void start(int port) {
    try {
      server =
          NettyServerBuilder.forAddress(new InetSocketAddress(host, port))
              .addService(discovery.getAggregatedDiscoveryServiceImpl())
              .addService(discovery.getEndpointDiscoveryServiceImpl())
              .build()
              .start();
    } catch (IOException e) {
      throw new UncheckedIOException("xDS test server on " + host + ":" + port, e);
    }
    this.port = server.getPort();
  }

  public InetSocketAddress address() {
    return new InetSocketAddress(host, port);
  }

  /** Serves {@code assignments} at {@code version} to every node. */
  public void serve(String version, ClusterLoadAssignment... assignments) {
    cache.setSnapshot(
        GROUP,
        Snapshot.create(List.of(), List.of(assignments), List.of(), List.of(), List.of(), version));
  }

  /** Stops the server: every stream ends; the cache keeps its snapshot. */
  public void stop() {
    Server s = server;
    s.shutdownNow();
    try {
      if (!s.awaitTermination(5, TimeUnit.SECONDS)) {
        throw new AssertionError("the xDS test server did not stop within 5 s");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted while stopping the xDS test server", e);
    }
  }

  /** Serves again on the same address and port. */
  public void restart() {
    start(port);
  }

  /** Returns the next request that {@code test} accepts, waiting at most {@code timeout}. */
  DiscoveryRequest nextRequest(Predicate<DiscoveryRequest> test, Duration timeout)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      DiscoveryRequest r =
          requests.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      if (r == null) {
        throw new AssertionError("no such request within " + timeout);
      }
      if (test.test(r)) {
        return r;
      }
    }
  }

  /** Returns the next response sent, waiting at most {@code timeout}. */
  DiscoveryResponse nextResponse(Duration timeout) throws InterruptedException {
    DiscoveryResponse r = responses.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
    if (r == null) {
      throw new AssertionError("no response within " + timeout);
    }
    return r;
  }

  @Override
  public void close() {
    stop();
  }

  // ------------------------------------------------------------------ building assignments

  public static LbEndpoint endpoint(String ip, int port) {
    return endpoint(ip, port, 0, HealthStatus.HEALTHY);
  }

  /** An endpoint; weight 0 leaves {@code load_balancing_weight} unset. */
  public static LbEndpoint endpoint(String ip, int port, int weight, HealthStatus status) {
    LbEndpoint.Builder b =
        LbEndpoint.newBuilder()
            .setEndpoint(
                Endpoint.newBuilder()
                    .setAddress(
                        Address.newBuilder()
                            .setSocketAddress(
                                SocketAddress.newBuilder().setAddress(ip).setPortValue(port))))
            .setHealthStatus(status);
    if (weight > 0) {
      b.setLoadBalancingWeight(UInt32Value.of(weight));
    }
    return b.build();
  }

  public static ClusterLoadAssignment assignment(String cluster, LbEndpoint... endpoints) {
    return ClusterLoadAssignment.newBuilder()
        .setClusterName(cluster)
        .addEndpoints(
            LocalityLbEndpoints.newBuilder()
                .setLocality(Locality.newBuilder().setRegion("lo").setZone("lo-a"))
                .addAllLbEndpoints(List.of(endpoints)))
        .build();
  }
}
