package io.lb4j.grpc;

import static io.lb4j.grpc.GrpcFixture.POOL;
import static io.lb4j.grpc.GrpcFixture.RULE;
import static io.lb4j.grpc.GrpcFixture.who;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCalls;
import io.lb4j.HealthOverride;
import io.lb4j.HealthProbe;
import io.lb4j.HealthState;
import io.lb4j.IpLiteral;
import io.lb4j.Lease;
import io.lb4j.OutlierDetection;
import io.lb4j.SelectionAlgorithm;
import io.lb4j.SelectionPolicy;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** lb4j's health decides rotation; the channel's connect failures feed lb4j's passive health. */
class HealthTest {

  private final GrpcFixture fixture = new GrpcFixture();

  @AfterEach
  void tearDown() {
    fixture.close();
  }

  @Test
  void forceDown_runningServerGetsNoRpcs_keyedOrNot_andItsKeysComeBackAfter() throws Exception {
    List<WhoServer> servers = fixture.startServers(3);
    fixture.balancer(GrpcFixture.config(SelectionPolicy.maglev(), servers));
    ManagedChannel channel = fixture.channel();
    GrpcFixture.awaitAnswering(channel, servers);
    WhoServer s2 = servers.get(1);

    fixture.lb.setHealthOverride(POOL, "s2", HealthOverride.FORCE_DOWN);
    int s2Calls = s2.calls();
    for (int k = 0; k < 300; k++) {
      String key = "k" + k;
      String answer = who(channel, key);
      assertNotEquals("s2", answer, key);
      assertEquals(fixture.lb.pickByKey(RULE, key).backend().id(), answer, key);
    }
    for (int i = 0; i < 30; i++) {
      assertNotEquals("s2", who(channel));
    }
    assertEquals(s2Calls, s2.calls(), "calls that reached s2 while forced down");

    fixture.lb.setHealthOverride(POOL, "s2", HealthOverride.FOLLOW_PROBE);
    int backOnS2 = 0;
    for (int k = 0; k < 300; k++) {
      backOnS2 += who(channel, "k" + k).equals("s2") ? 1 : 0;
    }
    assertTrue(backOnS2 > 50, "s2 got " + backOnS2 + " of 300 keys back");
  }

  @Test
  void stoppedServer_probeTakesItOut_everyRpcSucceedsOnLb4jsPick() throws Exception {
    List<WhoServer> servers = fixture.startServers(3);
    HealthProbe probe =
        HealthProbe.builder("tcp")
            .interval(Duration.ofMillis(100))
            .timeout(Duration.ofMillis(100))
            .unhealthyThreshold(1)
            .healthyThreshold(1)
            .build();
    fixture.balancer(GrpcFixture.config(SelectionPolicy.maglev(), servers, probe, r -> r));
    GrpcFixture.await(
        () -> fixture.lb.health(RULE, "s2").state() == HealthState.HEALTHY, "s2 probed healthy");
    ManagedChannel channel = fixture.channel();
    GrpcFixture.awaitAnswering(channel, servers);

    servers.get(1).stop();
    GrpcFixture.await(
        () -> fixture.lb.health(RULE, "s2").state() == HealthState.UNHEALTHY,
        "s2 probed unhealthy");
    for (int k = 0; k < 300; k++) {
      String key = "k" + k;
      String answer = who(channel, key); // none fails
      assertEquals(fixture.lb.pickByKey(RULE, key).backend().id(), answer, key);
      assertNotEquals("s2", answer);
    }
  }

  /**
   * Without a probe or passive health lb4j keeps offering a server that refuses connections; the
   * picker skips its failing subchannel and takes lb4j's next attempt for the key, {@code
   * leaseByKeyHash(rule, hash, 1, [s2], 1)}. The server is down before the channel exists, so no
   * RPC races its shutdown.
   */
  @Test
  void serverDownFromTheStart_itsKeysTakeLb4jsNextAttempt() throws Exception {
    List<WhoServer> servers = fixture.startServers(3);
    fixture.balancer(
        GrpcFixture.config(
            SelectionPolicy.ringHash(160),
            servers,
            null,
            r -> r.outlierDetection(OutlierDetection.DISABLED)));
    servers.get(1).stop();
    ManagedChannel channel = fixture.channel();

    int s2Keys = 0;
    for (int k = 0; k < 200; k++) {
      String key = "k" + k;
      long hash = fixture.lb.keyHash(key);
      String expected = fixture.lb.pickByKey(RULE, key).backend().id();
      if (expected.equals("s2")) {
        s2Keys++;
        try (Lease next = fixture.lb.leaseByKeyHash(RULE, hash, 1, new String[] {"s2"}, 1)) {
          expected = next.backend().id();
        }
      }
      assertEquals(expected, who(channel, key), key);
    }
    assertTrue(s2Keys > 20, "s2 is the first choice of " + s2Keys + " keys");
    assertTrue(fixture.lb.health(RULE, "s2").inRotation(), "lb4j was not told otherwise");
  }

  @Test
  void stoppedServer_connectFailuresReported_passiveHealthEjectsIt() throws Exception {
    List<WhoServer> servers = fixture.startServers(3);
    OutlierDetection oneFailure =
        new OutlierDetection(1, Duration.ofSeconds(30), Duration.ofSeconds(300), 50);
    fixture.balancer(
        GrpcFixture.config(
            SelectionPolicy.maglev(), servers, null, r -> r.outlierDetection(oneFailure)));
    ManagedChannel channel = fixture.channel();
    GrpcFixture.awaitAnswering(channel, servers);
    assertTrue(fixture.lb.health(RULE, "s2").inRotation());

    servers.get(1).stop(); // the subchannel reconnects at once and is refused
    GrpcFixture.await(
        () -> !fixture.lb.health(RULE, "s2").inRotation(), "s2 ejected by passive health");
    assertTrue(fixture.lb.health(RULE, "s1").inRotation());
    for (int k = 0; k < 100; k++) {
      String key = "k" + k;
      assertEquals(fixture.lb.pickByKey(RULE, key).backend().id(), who(channel, key), key);
    }
  }

  /**
   * A probe verdict is a health event only, no reconfiguration: the policy must publish a new
   * picker on it, so that an RPC waiting for a backend is picked again. The probe watches its own
   * port (a plain listener the test opens and closes), the data port stays up.
   */
  @Test
  void probeBackHealthy_waitingRpcPickedAgain_withoutReconfiguration() throws Exception {
    List<WhoServer> servers = fixture.startServers(1);
    InetAddress ip = IpLiteral.parse(servers.get(0).ip);
    ServerSocket probed = new ServerSocket(0, 50, ip);
    int probePort = probed.getLocalPort();
    HealthProbe probe =
        HealthProbe.builder("side")
            .port(probePort)
            .interval(Duration.ofMillis(100))
            .timeout(Duration.ofMillis(100))
            .unhealthyThreshold(1)
            .healthyThreshold(1)
            .build();
    fixture.balancer(GrpcFixture.config(SelectionPolicy.maglev(), servers, probe, r -> r));
    try {
      GrpcFixture.await(
          () -> fixture.lb.health(RULE, "s1").state() == HealthState.HEALTHY, "s1 probed healthy");
      ManagedChannel channel = fixture.channel();
      assertEquals("s1", who(channel, "k"));

      probed.close();
      GrpcFixture.await(
          () -> fixture.lb.health(RULE, "s1").state() == HealthState.UNHEALTHY,
          "s1 probed unhealthy");
      Future<String> waiting =
          ClientCalls.futureUnaryCall(
              channel.newCall(
                  WhoServer.NAME,
                  CallOptions.DEFAULT
                      .withWaitForReady()
                      .withOption(Lb4jGrpc.KEY, "k")
                      .withDeadlineAfter(10, TimeUnit.SECONDS)),
              "");
      assertFalse(waiting.isDone());

      probed = new ServerSocket(probePort, 50, ip);
      assertEquals("s1", waiting.get(10, TimeUnit.SECONDS));
    } finally {
      probed.close();
    }
  }

  @Test
  void allForcedDown_rpcFailsWithLb4jsExplanation_waitForReadyRpcRunsOnceOneIsBack()
      throws Exception {
    List<WhoServer> servers = fixture.startServers(2);
    fixture.balancer(
        GrpcFixture.config(SelectionPolicy.of(SelectionAlgorithm.ROUND_ROBIN), servers));
    ManagedChannel channel = fixture.channel();
    GrpcFixture.awaitAnswering(channel, servers);
    fixture.lb.setHealthOverride(POOL, "s1", HealthOverride.FORCE_DOWN);
    fixture.lb.setHealthOverride(POOL, "s2", HealthOverride.FORCE_DOWN);

    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> who(channel));
    assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
    assertEquals(
        "lb4j: NO_AVAILABLE_BACKEND who: pool 'who' has 2 backends, none available (2"
            + " unhealthy)",
        e.getStatus().getDescription());

    Future<String> waiting =
        ClientCalls.futureUnaryCall(
            channel.newCall(
                WhoServer.NAME,
                CallOptions.DEFAULT.withWaitForReady().withDeadlineAfter(10, TimeUnit.SECONDS)),
            "");
    assertFalse(waiting.isDone());
    fixture.lb.setHealthOverride(POOL, "s2", HealthOverride.FOLLOW_PROBE);
    assertEquals("s2", waiting.get(10, TimeUnit.SECONDS));
  }
}
