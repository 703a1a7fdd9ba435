package io.lb4j.grpc;

import static io.lb4j.grpc.GrpcFixture.RULE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.stub.ClientCalls;
import io.lb4j.SelectionAlgorithm;
import io.lb4j.SelectionPolicy;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * RPCs in flight count as lb4j load: each holds a lease from its pick until its stream closes, so
 * bounded load caps a hot key's server and least connections follows the RPCs held open. The
 * servers hold the calls until the test releases them.
 */
class InFlightTest {

  private static final int HOT_RPCS = 20;

  private final GrpcFixture fixture = new GrpcFixture();

  @AfterEach
  void tearDown() {
    fixture.close();
  }

  /**
   * With c = 1.25 over 4 equal servers no server takes a new RPC while it holds ⌈1.25 × (active +
   * 1) / 4⌉ or more (Mirrokni, Thorup and Zadimoghaddam 2016): with 20 in flight, at most ⌈1.25 ×
   * 20 / 4⌉ = 7 on any server.
   */
  @Test
  void hotKey_boundedLoad_capsItsServer_andLeasesEndWithTheRpcs() throws Exception {
    List<WhoServer> servers = fixture.startServers(4);
    fixture.balancer(GrpcFixture.config(SelectionPolicy.maglev().withBoundedLoad(1.25), servers));
    ManagedChannel channel = fixture.channel();
    String home = fixture.lb.pickByKey(RULE, "hot").backend().id();

    List<Future<String>> rpcs = holdAll(channel, "hot", HOT_RPCS);
    TreeMap<String, Integer> held = heldPerServer(servers);
    int cap = (int) Math.ceil(1.25 * HOT_RPCS / 4);
    for (var e : held.entrySet()) {
      assertTrue(e.getValue() <= cap, "held " + held + ", cap " + cap);
      assertEquals(e.getValue(), fixture.lb.activeFlows(RULE, e.getKey()), "leases of " + e);
    }
    assertEquals(cap, held.get(home), "the key's own server " + home + " filled: " + held);
    assertTrue(held.values().stream().filter(n -> n > 0).count() >= 3, "spread: " + held);

    releaseAll(servers, rpcs);
    for (WhoServer s : servers) {
      GrpcFixture.await(
          () -> fixture.lb.activeFlows(RULE, s.name) == 0, "leases of " + s.name + " released");
    }
  }

  @Test
  void hotKey_withoutBoundedLoad_allOnItsServer() throws Exception {
    List<WhoServer> servers = fixture.startServers(4);
    fixture.balancer(GrpcFixture.config(SelectionPolicy.maglev(), servers));
    ManagedChannel channel = fixture.channel();
    String home = fixture.lb.pickByKey(RULE, "hot").backend().id();

    List<Future<String>> rpcs = holdAll(channel, "hot", HOT_RPCS);
    TreeMap<String, Integer> held = heldPerServer(servers);
    assertEquals(HOT_RPCS, held.get(home), "held " + held);
    assertEquals(HOT_RPCS, fixture.lb.activeFlows(RULE, home));
    releaseAll(servers, rpcs);
  }

  @Test
  void noKey_leastConnections_followsTheRpcsInFlight() throws Exception {
    List<WhoServer> servers = fixture.startServers(3);
    fixture.balancer(
        GrpcFixture.config(SelectionPolicy.of(SelectionAlgorithm.LEAST_CONNECTIONS), servers));
    ManagedChannel channel = fixture.channel();
    GrpcFixture.awaitAnswering(channel, servers);

    List<Future<String>> rpcs = holdAll(channel, null, 6);
    assertEquals("{s1=2, s2=2, s3=2}", heldPerServer(servers).toString());

    WhoServer s1 = servers.get(0);
    s1.releaseHeld();
    GrpcFixture.await(() -> fixture.lb.activeFlows(RULE, "s1") == 0, "s1's leases released");
    rpcs.addAll(holdAll(channel, null, 2));
    assertEquals("{s1=2, s2=2, s3=2}", heldPerServer(servers).toString());
    releaseAll(servers, rpcs);
  }

  /**
   * Starts {@code n} Hold RPCs one after the other with key {@code key} (none when null) and waits
   * until the servers hold them all.
   */
  private List<Future<String>> holdAll(ManagedChannel channel, String key, int n) {
    int before = totalHeld();
    List<Future<String>> rpcs = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      CallOptions options =
          CallOptions.DEFAULT.withWaitForReady().withDeadlineAfter(10, TimeUnit.SECONDS);
      if (key != null) {
        options = options.withOption(Lb4jGrpc.KEY, key);
      }
      rpcs.add(ClientCalls.futureUnaryCall(channel.newCall(WhoServer.HOLD, options), ""));
    }
    GrpcFixture.await(() -> totalHeld() == before + n, n + " RPCs held by the servers");
    return rpcs;
  }

  private int totalHeld() {
    int n = 0;
    for (WhoServer s : fixture.servers) {
      n += s.held();
    }
    return n;
  }

  private static TreeMap<String, Integer> heldPerServer(List<WhoServer> servers) {
    TreeMap<String, Integer> held = new TreeMap<>();
    for (WhoServer s : servers) {
      held.put(s.name, s.held());
    }
    return held;
  }

  private static void releaseAll(List<WhoServer> servers, List<Future<String>> rpcs)
      throws Exception {
    for (WhoServer s : servers) {
      s.releaseHeld();
    }
    for (Future<String> f : rpcs) {
      f.get(10, TimeUnit.SECONDS);
    }
  }
}
