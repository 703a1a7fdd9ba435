package io.lb4j.xds;

import io.envoyproxy.envoy.config.core.v3.Node;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.lb4j.IpLiteral;
import io.lb4j.discovery.Member;
import io.lb4j.discovery.MembershipSource;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Random;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A pool's members from an xDS management server: subscribes to one cluster's {@code
 * ClusterLoadAssignment} (xDS v3 EDS, state of the world) over ADS or over EDS alone, and publishes
 * its endpoints as members — this is how lb4j joins a control plane: any java-control-plane or
 * go-control-plane server, or Istio's plaintext xDS port.
 *
 * <pre>{@code
 * MembershipSource source =
 *     XdsMembershipSource.builder(new InetSocketAddress("127.0.0.1", 18000), "web")
 *         .node("lb4j-edge-1")
 *         .build();
 * Discovery d = balancer.attach("web", source, DiscoveryOptions.DEFAULT);
 * }</pre>
 *
 * <p>Endpoints become members as {@code docs/discovery-xds.md} tables it: the id is {@code ip:port}
 * ({@link Member#idOf}), also when the endpoint has a hostname, so every lb4j instance fed by the
 * same server builds the same tables; {@code HEALTHY}/{@code UNKNOWN}/{@code DEGRADED} are ready,
 * {@code DRAINING} drains, {@code UNHEALTHY}/{@code TIMEOUT} are forced down; the endpoint's {@code
 * load_balancing_weight} is the weight (1 when unset); the locality is the zone. An address that is
 * not an IP literal, a named port, or any other field lb4j cannot apply makes the whole update
 * refused: NACKed with an {@code error_detail} naming the field, the last good members kept, the
 * listener told.
 *
 * <p>The stream is reopened after a loss with an exponential back-off with jitter (0.5 s growing
 * 1.6 times to 30 s by default, as gRPC's), the last good members kept meanwhile and the loss
 * reported. The channel is plaintext; TLS to the management server is not supported yet. The
 * application brings the gRPC transport ({@code grpc-netty-shaded} or {@code grpc-netty}).
 *
 * <p>Threading: {@link #start} returns at once; the subscription runs on one daemon thread of its
 * own, which calls the listener. {@link #close} waits for an answer being delivered, then no other
 * comes.
 *
 * <p>Thread-safe.
 */
public final class XdsMembershipSource implements MembershipSource {
  private static final Logger logger = LoggerFactory.getLogger(XdsMembershipSource.class);

  /** How the source asks for endpoints. */
  public enum Mode {
    /**
     * The Aggregated Discovery Service, {@code StreamAggregatedResources}: one stream for every
     * type; what Istio and Envoy Gateway serve.
     */
    ADS,
    /** The Endpoint Discovery Service alone, {@code StreamEndpoints}. */
    EDS
  }

  /** The node id when none is set. */
  public static final String DEFAULT_NODE = "lb4j";

  /** The first reconnect delay when none is set. */
  public static final Duration DEFAULT_BACKOFF_INITIAL = Duration.ofMillis(500);

  /** The largest reconnect delay when none is set. */
  public static final Duration DEFAULT_BACKOFF_MAX = Duration.ofSeconds(30);

  private final InetSocketAddress server;
  private final String cluster;
  private final Mode mode;
  private final Node node;
  private final Duration backoffInitial;
  private final Duration backoffMax;
  private final Delays delays; // null: the source's executor
  private final Random random;
  private final String describe;

  private final Object lock = new Object();
  private MembershipSource.Listener listener; // guarded by lock
  private boolean closed; // guarded by lock
  private ScheduledExecutorService executor; // guarded by lock
  private EdsSubscription subscription; // guarded by lock

  private XdsMembershipSource(Builder b) {
    this.server = b.server;
    this.cluster = b.cluster;
    this.mode = b.mode;
    this.node =
        Node.newBuilder().setId(b.node).setCluster(b.nodeCluster).setUserAgentName("lb4j").build();
    this.backoffInitial = b.backoffInitial;
    this.backoffMax = b.backoffMax;
    this.delays = b.delays;
    this.random = b.random == null ? new Random() : b.random;
    this.describe =
        "xds "
            + mode.name().toLowerCase(Locale.ROOT)
            + " cluster '"
            + cluster
            + "' from "
            + hostPort(server);
  }

  /**
   * Returns a builder of a source that asks the management server at {@code server} for cluster
   * {@code cluster}'s endpoints.
   *
   * @param server the management server's IP address and port
   * @param cluster the name of the cluster whose endpoints become the pool's members
   * @return a builder with the defaults
   * @throws IllegalArgumentException if {@code server} is unresolved (a host name; lb4j takes IP
   *     literals only) or has port 0, or {@code cluster} is empty
   */
  public static Builder builder(InetSocketAddress server, String cluster) {
    return new Builder(server, cluster);
  }

  /** Returns {@code xds ads cluster 'web' from 127.0.0.1:18000}. */
  @Override
  public String describe() {
    return describe;
  }

  /** {@return the management server's address} */
  public InetSocketAddress server() {
    return server;
  }

  /** {@return the cluster whose endpoints are the members} */
  public String cluster() {
    return cluster;
  }

  /** {@return how the source subscribes} */
  public Mode mode() {
    return mode;
  }

  /** {@return the node id the source presents to the server} */
  public String node() {
    return node.getId();
  }

  /**
   * Opens the channel and subscribes, on the source's own thread; returns at once.
   *
   * @throws IllegalStateException if called twice or after {@link #close}
   */
  @Override
  public void start(Listener listener) {
    Objects.requireNonNull(listener, "listener");
    synchronized (lock) {
      if (this.listener != null || closed) {
        throw new IllegalStateException(
            describe + ": " + (closed ? "closed" : "started already") + " (expected: start once)");
      }
      this.listener = listener;
      ScheduledThreadPoolExecutor ex =
          new ScheduledThreadPoolExecutor(
              1,
              r -> {
                Thread t = new Thread(r, "lb4j-xds-" + cluster);
                t.setDaemon(true);
                return t;
              });
      ex.setRemoveOnCancelPolicy(true);
      executor = ex;
      Delays d =
          delays != null
              ? delays
              : (task, delay) -> ex.schedule(task, delay.toNanos(), TimeUnit.NANOSECONDS);
      subscription =
          new EdsSubscription(
              describe,
              mode,
              cluster,
              hostPort(server),
              node,
              this::newChannel,
              ex,
              d,
              new Backoff(backoffInitial, backoffMax, random),
              new Backoff(backoffInitial, backoffMax, random),
              guarded());
      subscription.start();
    }
  }

  /**
   * Cancels the stream and shuts the channel and the thread down; no answer is delivered after it
   * returns. Idempotent.
   */
  @Override
  public void close() {
    synchronized (lock) {
      if (closed) {
        return;
      }
      closed = true;
      if (subscription != null) {
        subscription.stop();
      }
      if (executor != null) {
        executor.shutdown(); // runs the stop above, drops what gRPC posts later
      }
    }
  }

  /** Returns a new plaintext channel to the server. */
  private ManagedChannel newChannel() {
    return Grpc.newChannelBuilderForAddress(
            IpLiteral.format(server.getAddress()),
            server.getPort(),
            InsecureChannelCredentials.create())
        .userAgent("lb4j")
        .build();
  }

  /** The listener behind the lock, so that nothing reaches it once {@link #close} returned. */
  private Listener guarded() {
    return new Listener() {
      @Override
      public void onMembers(List<Member> members) {
        synchronized (lock) {
          if (!closed) {
            try {
              listener.onMembers(members);
            } catch (RuntimeException e) { // the listener's bug: the stream goes on (and ACKs)
              logger.warn("{}: the listener failed on {} members", describe, members.size(), e);
            }
          }
        }
      }

      @Override
      public void onFailure(String reason) {
        synchronized (lock) {
          if (!closed) {
            try {
              listener.onFailure(reason);
            } catch (RuntimeException e) {
              logger.warn("{}: the listener failed on a failure: {}", describe, reason, e);
            }
          }
        }
      }
    };
  }

  @Override
  public String toString() {
    return describe;
  }

  static String hostPort(InetSocketAddress a) {
    return IpLiteral.format(a.getAddress(), a.getPort());
  }

  /**
   * Builds an {@link XdsMembershipSource}.
   *
   * <p>Not thread-safe.
   */
  public static final class Builder {
    private final InetSocketAddress server;
    private final String cluster;
    private Mode mode = Mode.ADS;
    private String node = DEFAULT_NODE;
    private String nodeCluster = DEFAULT_NODE;
    private Duration backoffInitial = DEFAULT_BACKOFF_INITIAL;
    private Duration backoffMax = DEFAULT_BACKOFF_MAX;
    private Delays delays;
    private Random random;

    private Builder(InetSocketAddress server, String cluster) {
      Objects.requireNonNull(server, "server");
      Objects.requireNonNull(cluster, "cluster");
      if (server.isUnresolved() || server.getAddress() == null) {
        throw new IllegalArgumentException(
            "server: '"
                + server.getHostString()
                + "' (expected: an IP literal; lb4j never resolves names)");
      }
      if (server.getPort() == 0) {
        throw new IllegalArgumentException("server: port 0 (expected: 1-65535)");
      }
      if (cluster.isEmpty()) {
        throw new IllegalArgumentException("cluster: '' (expected: a cluster name)");
      }
      this.server = server;
      this.cluster = cluster;
    }

    /**
     * Sets how the source subscribes; {@link Mode#ADS} by default.
     *
     * @param mode ADS (one aggregated stream) or EDS alone
     * @return this builder
     */
    public Builder mode(Mode mode) {
      this.mode = Objects.requireNonNull(mode, "mode");
      return this;
    }

    /**
     * Sets the node id presented to the server, {@value #DEFAULT_NODE} by default. Servers may key
     * their answers on it (java-control-plane's {@code NodeGroup}; Istio expects its own shape,
     * {@code sidecar~10.0.0.7~name.namespace~namespace.svc.cluster.local}).
     *
     * @param node the node id
     * @return this builder
     */
    public Builder node(String node) {
      Objects.requireNonNull(node, "node");
      if (node.isEmpty()) {
        throw new IllegalArgumentException("node: '' (expected: a node id)");
      }
      this.node = node;
      return this;
    }

    /**
     * Sets the node's {@code cluster} field (Envoy's service cluster), {@value #DEFAULT_NODE}.
     *
     * @param nodeCluster the node's cluster
     * @return this builder
     */
    public Builder nodeCluster(String nodeCluster) {
      this.nodeCluster = Objects.requireNonNull(nodeCluster, "nodeCluster");
      return this;
    }

    /**
     * Sets the reconnect back-off: the first delay and the largest; 0.5 s and 30 s by default.
     *
     * @param initial the first delay
     * @param max the largest delay
     * @return this builder
     * @throws IllegalArgumentException unless {@code 0 < initial <= max}
     */
    public Builder backoff(Duration initial, Duration max) {
      Objects.requireNonNull(initial, "backoffInitial");
      Objects.requireNonNull(max, "backoffMax");
      new Backoff(initial, max, new Random(0)); // validates
      this.backoffInitial = initial;
      this.backoffMax = max;
      return this;
    }

    /** Sets where delays run, for tests with a fake scheduler. */
    Builder delays(Delays delays) {
      this.delays = Objects.requireNonNull(delays, "delays");
      return this;
    }

    /** Sets the back-off's jitter source, for tests. */
    Builder random(Random random) {
      this.random = Objects.requireNonNull(random, "random");
      return this;
    }

    /** {@return the source; nothing is started} */
    public XdsMembershipSource build() {
      return new XdsMembershipSource(this);
    }
  }
}
