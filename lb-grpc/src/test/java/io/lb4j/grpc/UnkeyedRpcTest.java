package io.lb4j.grpc;

import static io.lb4j.grpc.GrpcFixture.who;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.lb4j.SelectionAlgorithm;
import io.lb4j.SelectionPolicy;
import java.util.List;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** RPCs without a key go where the rule's scheduler sends them. */
class UnkeyedRpcTest {

  private final GrpcFixture fixture = new GrpcFixture();

  @AfterEach
  void tearDown() {
    fixture.close();
  }

  @Test
  void noKey_roundRobin_exactlyEvenOverTheServers() throws Exception {
    List<WhoServer> servers = fixture.startServers(3);
    fixture.balancer(
        GrpcFixture.config(SelectionPolicy.of(SelectionAlgorithm.ROUND_ROBIN), servers));
    ManagedChannel channel = fixture.channel();
    GrpcFixture.awaitAnswering(channel, servers);

    assertEquals("{s1=10, s2=10, s3=10}", answers(channel, 30).toString());
  }

  @Test
  void noKey_weightedRoundRobin_byWeight() throws Exception {
    List<WhoServer> servers = fixture.startServers(3);
    fixture.balancer(
        GrpcFixture.config(SelectionPolicy.of(SelectionAlgorithm.WEIGHTED_ROUND_ROBIN), servers));
    fixture.lb.setWeight(GrpcFixture.POOL, "s2", 2);
    fixture.lb.setWeight(GrpcFixture.POOL, "s3", 3);
    ManagedChannel channel = fixture.channel();
    GrpcFixture.awaitAnswering(channel, servers);

    assertEquals("{s1=10, s2=20, s3=30}", answers(channel, 60).toString());
  }

  /**
   * A hashing rule spreads RPCs without a key by a random hash: 600 RPCs over 3 servers, each
   * within 200 ± 80 (7 standard deviations of the binomial, sd ≈ 11.5).
   */
  @Test
  void noKey_maglev_randomHashSpreadsOverAll() throws Exception {
    List<WhoServer> servers = fixture.startServers(3);
    fixture.balancer(GrpcFixture.config(SelectionPolicy.maglev(), servers));
    ManagedChannel channel = fixture.channel();
    GrpcFixture.awaitAnswering(channel, servers);

    TreeMap<String, Integer> counts = answers(channel, 600);
    for (int n : counts.values()) {
      assertTrue(n >= 120 && n <= 280, counts.toString());
    }
    assertEquals(3, counts.size(), counts.toString());
  }

  private static TreeMap<String, Integer> answers(ManagedChannel channel, int n) {
    TreeMap<String, Integer> counts = new TreeMap<>();
    for (int i = 0; i < n; i++) {
      counts.merge(who(channel), 1, Integer::sum);
    }
    return counts;
  }
}
