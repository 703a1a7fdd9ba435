package io.lb4j.examples;

import com.google.protobuf.UInt32Value;
import io.envoyproxy.controlplane.cache.v3.SimpleCache;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.envoyproxy.controlplane.server.V3DiscoveryServer;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.envoyproxy.envoy.config.core.v3.Locality;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.lb4j.Backend;
import io.lb4j.BackendPool;
import io.lb4j.FlowKey;
import io.lb4j.Frontend;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancerListener;
import io.lb4j.LoadBalancingRule;
import io.lb4j.Protocol;
import io.lb4j.core.L4LoadBalancer;
import io.lb4j.discovery.DiscoveryOptions;
import io.lb4j.discovery.DiscoveryStatus;
import io.lb4j.xds.XdsMembershipSource;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A pool's members from an xDS management server. Starts envoyproxy/java-control-plane in-process
 * on 127.0.0.1 (the role Istio, Envoy Gateway or your own control plane plays), serves cluster
 * {@code web}, and attaches it to two balancers with the same seed — two lb4j instances. Then
 * changes the snapshot (one endpoint added, one draining, one re-weighted) and prints where 10,000
 * flows go before and after, whether the two instances agree, and their fingerprints; last, serves
 * an endpoint with a host name for an address, which lb4j refuses (NACK) and keeps the last good
 * members.
 *
 * <pre>{@code java -cp examples/target/lb4j-examples.jar io.lb4j.examples.XdsDiscoveryExample}
 * </pre>
 */
public final class XdsDiscoveryExample {
  static final int FLOWS = 10_000;

  public static void main(String[] args) throws Exception {
    SimpleCache<String> cache = new SimpleCache<>(node -> "everyone");
    V3DiscoveryServer discovery = new V3DiscoveryServer(cache);
    Server server =
        NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
            .addService(discovery.getAggregatedDiscoveryServiceImpl())
            .addService(discovery.getEndpointDiscoveryServiceImpl())
            .build()
            .start();
    InetSocketAddress at = new InetSocketAddress("127.0.0.1", server.getPort());
    System.out.println(
        "xDS management server (java-control-plane) on 127.0.0.1:" + server.getPort());

    serve(
        cache,
        "v1",
        endpoint("127.0.0.11", 1, HealthStatus.HEALTHY),
        endpoint("127.0.0.12", 1, HealthStatus.HEALTHY),
        endpoint("127.0.0.13", 1, HealthStatus.HEALTHY));

    BlockingQueue<String> changesA = new LinkedBlockingQueue<>();
    BlockingQueue<String> changesB = new LinkedBlockingQueue<>();
    try (L4LoadBalancer a = balancer(at, "edge-a", changesA);
        L4LoadBalancer b = balancer(at, "edge-b", changesB)) {
      await(changesA, "first answer, edge-a");
      await(changesB, "first answer, edge-b");
      System.out.println("source: " + a.discoveries().get(0).source());
      String[] before = report("v1: three endpoints", a, b);

      serve(
          cache,
          "v2",
          endpoint("127.0.0.11", 1, HealthStatus.HEALTHY),
          endpoint("127.0.0.12", 3, HealthStatus.HEALTHY),
          endpoint("127.0.0.13", 1, HealthStatus.DRAINING),
          endpoint("127.0.0.14", 1, HealthStatus.HEALTHY));
      await(changesA, "v2, edge-a");
      await(changesB, "v2, edge-b");
      String[] after = report("v2: .12 weight 3, .13 draining, .14 added", a, b);
      int moved = 0;
      for (int i = 0; i < FLOWS; i++) {
        moved += before[i].equals(after[i]) ? 0 : 1;
      }
      System.out.printf("new flows that changed backend v1 -> v2: %d of %d%n", moved, FLOWS);

      serve(cache, "v3", endpoint("web.internal", 1, HealthStatus.HEALTHY));
      DiscoveryStatus status = awaitFailing(a);
      System.out.println();
      System.out.println("v3 names its endpoint web.internal: lb4j NACKs it and keeps v2");
      System.out.println("  state:   " + status.state() + ", " + status.members() + " members");
      System.out.println("  problem: " + status.lastProblem());
    } finally {
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  private static L4LoadBalancer balancer(
      InetSocketAddress server, String node, BlockingQueue<String> changes) {
    LoadBalancerConfig config =
        LoadBalancerConfig.builder()
            .frontend(Frontend.of("fe", "127.0.0.1"))
            .pool(BackendPool.of("web", Backend.of("placeholder", "127.0.0.10", 8080)))
            .rule(
                LoadBalancingRule.builder("http")
                    .frontend("fe")
                    .frontendPort(80)
                    .backendPool("web")
                    .backendPort(8080)
                    .build())
            .build();
    L4LoadBalancer lb = L4LoadBalancer.builder().config(config).seed(2026).build();
    lb.addListener(
        new LoadBalancerListener() {
          @Override
          public void onReconfigured(LoadBalancerConfig c) {
            changes.add(c.pool("web").toString());
          }
        });
    lb.attach(
        "web",
        XdsMembershipSource.builder(server, "web").node(node).build(),
        DiscoveryOptions.DEFAULT);
    return lb;
  }

  /** Prints the pool, the spread of 10,000 flows and whether both instances agree. */
  private static String[] report(String title, L4LoadBalancer a, L4LoadBalancer b) {
    System.out.println();
    System.out.println(title);
    System.out.println("  pool: " + a.config().pool("web"));
    String[] choices = new String[FLOWS];
    Map<String, Integer> spread = new TreeMap<>();
    int agree = 0;
    for (int i = 0; i < FLOWS; i++) {
      FlowKey flow = FlowKey.ipv4(0x0a00_0000 | i, 1024 + i, 0x7f00_0001, 80, Protocol.TCP);
      choices[i] = a.pick(flow).backend().id();
      agree += choices[i].equals(b.pick(flow).backend().id()) ? 1 : 0;
      spread.merge(choices[i], 1, Integer::sum);
    }
    System.out.println("  new flows per backend: " + spread);
    System.out.printf(
        "  edge-a and edge-b agree on %d of %d flows; fingerprints %s / %s%n",
        agree, FLOWS, a.selectionFingerprint("http"), b.selectionFingerprint("http"));
    return choices;
  }

  private static void await(BlockingQueue<String> changes, String what)
      throws InterruptedException {
    if (changes.poll(10, TimeUnit.SECONDS) == null) {
      throw new IllegalStateException("no pool change within 10 s: " + what);
    }
  }

  private static DiscoveryStatus awaitFailing(L4LoadBalancer lb) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < deadline) {
      DiscoveryStatus s = lb.discoveries().get(0);
      if (s.state() == DiscoveryStatus.State.FAILING) {
        return s;
      }
      TimeUnit.MILLISECONDS.sleep(10);
    }
    throw new IllegalStateException("the source did not report the refused update within 10 s");
  }

  private static void serve(SimpleCache<String> cache, String version, LbEndpoint... endpoints) {
    ClusterLoadAssignment web =
        ClusterLoadAssignment.newBuilder()
            .setClusterName("web")
            .addEndpoints(
                LocalityLbEndpoints.newBuilder()
                    .setLocality(Locality.newBuilder().setRegion("local").setZone("local-a"))
                    .addAllLbEndpoints(List.of(endpoints)))
            .build();
    cache.setSnapshot(
        "everyone",
        Snapshot.create(List.of(), List.of(web), List.of(), List.of(), List.of(), version));
  }

  private static LbEndpoint endpoint(String ip, int weight, HealthStatus status) {
    return LbEndpoint.newBuilder()
        .setEndpoint(
            Endpoint.newBuilder()
                .setAddress(
                    Address.newBuilder()
                        .setSocketAddress(
                            SocketAddress.newBuilder().setAddress(ip).setPortValue(8080))))
        .setLoadBalancingWeight(UInt32Value.of(weight))
        .setHealthStatus(status)
        .build();
  }

  private XdsDiscoveryExample() {}
}
