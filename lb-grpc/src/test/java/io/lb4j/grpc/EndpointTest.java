package io.lb4j.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Attributes;
import io.grpc.ClientStreamTracer;
import io.grpc.ConnectivityState;
import io.grpc.ConnectivityStateInfo;
import io.grpc.EquivalentAddressGroup;
import io.grpc.LoadBalancer;
import io.grpc.Metadata;
import io.grpc.Status;
import io.lb4j.Backend;
import io.lb4j.BackendPool;
import io.lb4j.Frontend;
import io.lb4j.Lease;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancingRule;
import io.lb4j.core.L4LoadBalancer;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** An RPC's lease is released exactly once: by its stream's close, or when its pick is dropped. */
class EndpointTest {

  private static final String RULE = "r";
  private static final ClientStreamTracer.StreamInfo INFO =
      ClientStreamTracer.StreamInfo.newBuilder().build();

  private final L4LoadBalancer lb =
      L4LoadBalancer.builder()
          .config(
              LoadBalancerConfig.builder()
                  .frontend(Frontend.of("f", "127.0.0.1"))
                  .pool(BackendPool.of("p", Backend.of("b1", "127.0.0.2", 9)))
                  .rule(
                      LoadBalancingRule.builder(RULE)
                          .frontend("f")
                          .frontendPort(1)
                          .backendPool("p")
                          .build())
                  .build())
          .build();
  private final FakeSubchannel subchannel = new FakeSubchannel();
  private final Endpoint endpoint =
      new Endpoint(
          "b1", new EquivalentAddressGroup(new InetSocketAddress("127.0.0.2", 9)), subchannel);

  @AfterEach
  void tearDown() {
    lb.close();
  }

  @Test
  void attach_ready_leaseHeldUntilTheStreamCloses_once() {
    endpoint.update(ConnectivityStateInfo.forNonError(ConnectivityState.READY));
    Lease lease = lb.leaseByKey(RULE, "k");
    RpcLease rpc = endpoint.attach(lease);
    assertNotNull(rpc);
    assertEquals(1, endpoint.pendingCount());

    ClientStreamTracer tracer = rpc.newClientStreamTracer(INFO, new Metadata());
    assertEquals(0, endpoint.pendingCount());
    assertEquals(1, lb.activeFlows(RULE, "b1"));
    assertFalse(rpc.abandon(), "a started stream's lease is the stream's");

    tracer.streamClosed(Status.OK);
    tracer.streamClosed(Status.CANCELLED);
    assertEquals(0, lb.activeFlows(RULE, "b1"));
    assertEquals("closed", lease.endReason());
  }

  @Test
  void attach_notReady_releasesTheLeaseAndAnswersNull() {
    Lease lease = lb.leaseByKey(RULE, "k");
    assertNull(endpoint.attach(lease));
    assertFalse(lease.isActive());
    assertEquals(0, lb.activeFlows(RULE, "b1"));
    assertEquals(0, endpoint.pendingCount());
  }

  @Test
  void leavingReady_releasesPendingLeases_aLateStreamIsUncounted() {
    endpoint.update(ConnectivityStateInfo.forNonError(ConnectivityState.READY));
    RpcLease dropped = endpoint.attach(lb.leaseByKey(RULE, "k"));
    Lease other = lb.leaseByKey(RULE, "other");
    assertEquals(2, lb.activeFlows(RULE, "b1"));

    endpoint.update(ConnectivityStateInfo.forNonError(ConnectivityState.IDLE));
    assertEquals(1, lb.activeFlows(RULE, "b1"));
    assertEquals(0, endpoint.pendingCount());

    ClientStreamTracer late = dropped.newClientStreamTracer(INFO, new Metadata());
    late.streamClosed(Status.OK);
    assertEquals(1, lb.activeFlows(RULE, "b1"), "the late stream released nothing more");
    other.close();
  }

  @Test
  void shutdown_releasesPendingLeases_andTheSubchannel() {
    endpoint.update(ConnectivityStateInfo.forNonError(ConnectivityState.READY));
    endpoint.attach(lb.leaseByKey(RULE, "k"));
    endpoint.shutdown();
    assertEquals(0, lb.activeFlows(RULE, "b1"));
    assertTrue(subchannel.shutdown);
    assertEquals(ConnectivityState.SHUTDOWN, endpoint.state());
  }

  @Test
  void transientFailure_stickyThroughReconnectAttempts_untilReady() {
    Status refused = Status.UNAVAILABLE.withDescription("connection refused");
    assertTrue(endpoint.update(ConnectivityStateInfo.forTransientFailure(refused)));
    assertFalse(endpoint.update(ConnectivityStateInfo.forNonError(ConnectivityState.CONNECTING)));
    assertFalse(endpoint.update(ConnectivityStateInfo.forNonError(ConnectivityState.IDLE)));
    assertEquals(ConnectivityState.TRANSIENT_FAILURE, endpoint.state());
    assertEquals("b1 TRANSIENT_FAILURE (UNAVAILABLE: connection refused)", endpoint.toString());

    assertTrue(endpoint.update(ConnectivityStateInfo.forNonError(ConnectivityState.READY)));
    assertEquals(ConnectivityState.READY, endpoint.state());
  }

  /**
   * The race the pending list exists for. In each of 400 rounds the endpoint turns READY, 4 pickers
   * attach 50 leases each, and the endpoint leaves READY while they do; half the picks start a
   * stream and close it, half are dropped as gRPC drops a pick whose transport went away. When the
   * round's picks are over, no lease may be pending or held. Seeded.
   */
  @Test
  void attachRacingLeavingReady_noLeaseLeftHeld() throws Exception {
    long seed = 0x5EEDL;
    int pickers = 4;
    int rounds = 400;
    CyclicBarrier start = new CyclicBarrier(pickers + 1);
    CyclicBarrier end = new CyclicBarrier(pickers + 1);
    List<Thread> threads = new ArrayList<>();
    for (int t = 0; t < pickers; t++) {
      SplittableRandom random = new SplittableRandom(seed + t);
      Thread thread =
          new Thread(
              () -> {
                try {
                  for (int r = 0; r < rounds; r++) {
                    start.await(10, TimeUnit.SECONDS);
                    for (int i = 0; i < 50; i++) {
                      RpcLease rpc = endpoint.attach(lb.leaseByKey(RULE, i));
                      if (rpc != null && random.nextBoolean()) {
                        rpc.newClientStreamTracer(INFO, new Metadata()).streamClosed(Status.OK);
                      }
                    }
                    end.await(10, TimeUnit.SECONDS);
                  }
                } catch (Exception e) {
                  throw new IllegalStateException(e);
                }
              });
      thread.setDaemon(true);
      threads.add(thread);
      thread.start();
    }
    SplittableRandom random = new SplittableRandom(seed);
    for (int r = 0; r < rounds; r++) {
      // The state is written by this one thread, as by gRPC's synchronization context.
      endpoint.update(ConnectivityStateInfo.forNonError(ConnectivityState.READY));
      start.await(10, TimeUnit.SECONDS);
      for (int spin = random.nextInt(2000); spin > 0; spin--) {
        Thread.onSpinWait(); // leave READY somewhere in the middle of the picks
      }
      endpoint.update(ConnectivityStateInfo.forNonError(ConnectivityState.IDLE));
      end.await(10, TimeUnit.SECONDS);
      assertEquals(0, endpoint.pendingCount(), "pending after round " + r + ", seed " + seed);
      assertEquals(0, lb.activeFlows(RULE, "b1"), "held after round " + r + ", seed " + seed);
    }
    for (Thread t : threads) {
      t.join(TimeUnit.SECONDS.toMillis(5));
    }
  }

  private static final class FakeSubchannel extends LoadBalancer.Subchannel {
    volatile boolean shutdown;

    @Override
    public void shutdown() {
      shutdown = true;
    }

    @Override
    public void requestConnection() {}

    @Override
    public Attributes getAttributes() {
      return Attributes.EMPTY;
    }
  }
}
