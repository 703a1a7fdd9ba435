package io.lb4j.grpc;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.stub.ClientCalls;
import io.lb4j.Backend;
import io.lb4j.BackendPool;
import io.lb4j.Frontend;
import io.lb4j.HealthProbe;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancingRule;
import io.lb4j.SelectionPolicy;
import io.lb4j.core.L4LoadBalancer;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.UnaryOperator;

/**
 * Real gRPC servers on 127.0.0.2, 127.0.0.3, ..., an lb4j balancer whose rule {@value #RULE}
 * spreads over them, and channels through lb4j's resolver and policy; closes all of it.
 */
final class GrpcFixture implements AutoCloseable {

  static final String RULE = "who";
  static final String POOL = "who";

  /** How long any wait of these tests may take. */
  static final long WAIT_SECONDS = 10;

  final List<WhoServer> servers = new ArrayList<>();
  private final List<ManagedChannel> channels = new ArrayList<>();
  L4LoadBalancer lb;

  /** Starts {@code n} servers s1..sn on 127.0.0.2.. (n < 250). */
  List<WhoServer> startServers(int n) throws IOException {
    List<WhoServer> started = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      started.add(startServer());
    }
    return started;
  }

  /** Starts one more server, s(k+1) on 127.0.0.(k+2). */
  WhoServer startServer() throws IOException {
    int k = servers.size();
    WhoServer s = WhoServer.start("s" + (k + 1), "127.0.0." + (k + 2));
    servers.add(s);
    return s;
  }

  /** Returns a configuration whose rule {@value #RULE} uses {@code policy} over {@code members}. */
  static LoadBalancerConfig config(SelectionPolicy policy, List<WhoServer> members) {
    return config(policy, members, null, b -> b);
  }

  /**
   * Returns a configuration whose rule {@value #RULE} uses {@code policy} over {@code members},
   * with {@code probe} (or none) and the rule changed by {@code rule}.
   */
  static LoadBalancerConfig config(
      SelectionPolicy policy,
      List<WhoServer> members,
      HealthProbe probe,
      UnaryOperator<LoadBalancingRule.Builder> rule) {
    List<Backend> backends = new ArrayList<>();
    for (WhoServer s : members) {
      backends.add(s.backend());
    }
    LoadBalancingRule.Builder r =
        LoadBalancingRule.builder(RULE)
            .frontend("grpc")
            .frontendPort(50051) // never bound: the channel is the client, lb4j only picks
            .backendPool(POOL)
            .selection(policy);
    LoadBalancerConfig.Builder c =
        LoadBalancerConfig.builder()
            .frontend(Frontend.of("grpc", "127.0.0.1"))
            .pool(new BackendPool(POOL, backends));
    if (probe != null) {
      c.probe(probe);
      r.probe(probe.name());
    }
    return c.rule(rule.apply(r).build()).build();
  }

  /** Builds the balancer of {@code config}; closed with the fixture. */
  L4LoadBalancer balancer(LoadBalancerConfig config) {
    lb = L4LoadBalancer.builder().config(config).build();
    return lb;
  }

  /** Returns a channel to rule {@value #RULE} of the balancer; shut down with the fixture. */
  ManagedChannel channel() {
    return track(Lb4jGrpc.newChannelBuilder(lb, RULE, InsecureChannelCredentials.create()).build());
  }

  ManagedChannel track(ManagedChannel channel) {
    channels.add(channel);
    return channel;
  }

  /** Calls Name on {@code channel} with {@code options} and a 5 s deadline; returns the server. */
  static String who(Channel channel, CallOptions options) {
    return ClientCalls.blockingUnaryCall(
        channel, WhoServer.NAME, options.withDeadlineAfter(5, TimeUnit.SECONDS), "");
  }

  /** Calls Name without a key. */
  static String who(Channel channel) {
    return who(channel, CallOptions.DEFAULT);
  }

  /** Calls Name with key {@code key} in {@link Lb4jGrpc#KEY}. */
  static String who(Channel channel, String key) {
    return who(channel, CallOptions.DEFAULT.withOption(Lb4jGrpc.KEY, key));
  }

  /**
   * Sends RPCs without a key until each of {@code expected} has answered one, so that each has a
   * READY subchannel; at most 1000 RPCs and {@value #WAIT_SECONDS} s.
   */
  static void awaitAnswering(Channel channel, List<WhoServer> expected) {
    Set<String> want = new HashSet<>();
    for (WhoServer s : expected) {
      want.add(s.name);
    }
    Set<String> seen = new HashSet<>();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
    for (int i = 0; i < 1000 && !seen.containsAll(want) && System.nanoTime() < deadline; i++) {
      seen.add(who(channel, CallOptions.DEFAULT.withWaitForReady()));
    }
    assertTrue(seen.containsAll(want), "answered: " + seen + ", expected: " + want);
  }

  private int leasesHeld() {
    int held = 0;
    for (io.lb4j.Backend b : lb.config().pool(POOL).backends()) {
      held += lb.activeFlows(RULE, b.id());
    }
    return held;
  }

  /** Waits up to {@value #WAIT_SECONDS} s, checking every millisecond, until {@code done}. */
  static void await(BooleanSupplier done, String what) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
    while (!done.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("not within " + WAIT_SECONDS + " s: " + what);
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
    }
  }

  /**
   * Checks that no RPC holds a lease any more (every test ends with its RPCs done), then shuts the
   * channels, the balancer and the servers down.
   */
  @Override
  public void close() {
    if (lb != null && lb.config().rule(RULE) != null) {
      await(() -> leasesHeld() == 0, "every RPC's lease released, " + leasesHeld() + " held");
    }
    for (ManagedChannel c : channels) {
      c.shutdownNow();
    }
    try {
      for (ManagedChannel c : channels) {
        if (!c.awaitTermination(5, TimeUnit.SECONDS)) {
          throw new IllegalStateException("channel did not terminate within 5 s: " + c);
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted closing the channels", e);
    }
    if (lb != null) {
      lb.close();
    }
    for (WhoServer s : servers) {
      s.close();
    }
  }
}
