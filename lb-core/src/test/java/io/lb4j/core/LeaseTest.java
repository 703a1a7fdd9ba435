package io.lb4j.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lb4j.AdminState;
import io.lb4j.FlowExplanation;
import io.lb4j.FlowKey;
import io.lb4j.HealthProbe;
import io.lb4j.HealthState;
import io.lb4j.Lease;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancingRule;
import io.lb4j.ProbeOutcome;
import io.lb4j.Protocol;
import io.lb4j.SelectionAlgorithm;
import io.lb4j.SelectionPolicy;
import io.lb4j.UnhealthyFlowPolicy;
import io.lb4j.testing.FakeClock;
import io.lb4j.testing.FakeHealthChecker;
import java.lang.ref.WeakReference;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Leases: counted as load, pinned, ended by the balancer's events, released once, leaks found. */
class LeaseTest {
  private final FakeClock clock = new FakeClock();
  private final FakeHealthChecker checker = new FakeHealthChecker(clock);
  private L4LoadBalancer lb;

  @AfterEach
  void close() {
    if (lb != null) {
      lb.close();
    }
  }

  private L4LoadBalancer balancer(SelectionPolicy policy, int backends) {
    int[] weights = new int[backends];
    java.util.Arrays.fill(weights, 1);
    return L4LoadBalancer.builder()
        .config(KeySelectionTest.config(policy, weights))
        .seed(7)
        .leaseLeakDetection(L4LoadBalancer.LeakDetection.PARANOID)
        .build();
  }

  private int active(String backend) {
    return lb.activeFlows("shards", backend);
  }

  @Test
  void lease_countedWhileHeld_releasedOnce() {
    lb = balancer(SelectionPolicy.maglev(), 3);
    Lease lease = lb.leaseByKey("shards", "tenant-7");
    assertTrue(lease.isGranted());
    assertTrue(lease.isActive());
    String backend = lease.backend().id();
    assertEquals(lb.pickByKey("shards", "tenant-7"), lease.selection());
    assertEquals(lb.keyHash("tenant-7"), lease.hash());
    assertNull(lease.flow());
    assertEquals(1, active(backend));
    Lease second = lb.leaseByKey("shards", "tenant-7");
    assertEquals(2, active(backend));
    lease.close();
    lease.close();
    assertEquals(1, active(backend), "released exactly once");
    assertFalse(lease.isActive());
    assertEquals("closed", lease.endReason());
    second.close();
    assertEquals(0, active(backend));
  }

  @Test
  void lease_leastConnectionsFollowsLeases() {
    lb = balancer(SelectionPolicy.of(SelectionAlgorithm.LEAST_CONNECTIONS), 3);
    List<Lease> held = new ArrayList<>();
    for (int i = 0; i < 9; i++) {
      held.add(lb.lease("shards"));
    }
    for (int b = 0; b < 3; b++) {
      assertEquals(3, active("db-" + b), "least connections spreads leases evenly");
    }
    held.stream().filter(l -> l.backend().id().equals("db-1")).forEach(Lease::close);
    for (int i = 0; i < 3; i++) {
      assertEquals("db-1", lb.lease("shards").backend().id(), "the emptied backend fills first");
    }
  }

  @Test
  void lease_boundedLoadCapsAHotKey() {
    lb = balancer(SelectionPolicy.maglev().withBoundedLoad(1.25), 4);
    Map<String, Integer> counts = new HashMap<>();
    for (int i = 0; i < 100; i++) {
      counts.merge(lb.leaseByKey("shards", "hot").backend().id(), 1, Integer::sum);
    }
    int cap = (int) Math.ceil(1.25 * 100 / 4);
    for (int c : counts.values()) {
      assertTrue(c <= cap, "a backend took more than its bound " + cap + ": " + counts);
    }
    assertEquals(4, counts.size(), counts.toString());
  }

  @Test
  void lease_pinnedAcrossRemovalAndHealthChanges() {
    lb = balancer(SelectionPolicy.maglev(), 3);
    Lease lease = lb.leaseByKey("shards", 99L);
    String backend = lease.backend().id();
    lb.setHealthOverride("db", backend, io.lb4j.HealthOverride.FORCE_DOWN);
    lb.removeBackend("db", backend);
    assertTrue(lease.isActive());
    assertEquals(backend, lease.backend().id());
    assertEquals(1, active(backend), "a removed backend's lease still counts");
    assertNotEquals(backend, lb.pickByKey("shards", 99L).backend().id(), "new ones go elsewhere");
    lease.close();
    assertEquals(0, active(backend));
  }

  @Test
  void lease_backendDisabled_endsItThroughItsCallback() {
    lb = balancer(SelectionPolicy.maglev(), 2);
    Lease lease = lb.leaseByKey("shards", 1L);
    String backend = lease.backend().id();
    List<String> reasons = new ArrayList<>();
    lease.onEnded(reasons::add);
    lb.setAdminState("db", backend, AdminState.DRAINING);
    assertTrue(lease.isActive(), "DRAINING keeps established connections");
    lb.setAdminState("db", backend, AdminState.DISABLED);
    assertFalse(lease.isActive());
    assertEquals(List.of("backend DISABLED"), reasons);
    assertEquals("backend DISABLED", lease.endReason());
    assertEquals(0, active(backend));
    lease.close();
    assertEquals(0, active(backend), "close after the end releases nothing");
    List<String> late = new ArrayList<>();
    lease.onEnded(late::add);
    assertEquals(List.of("backend DISABLED"), late, "a late callback runs at once");
  }

  @Test
  void lease_closedByItsHolder_runsNoEndCallback() {
    lb = balancer(SelectionPolicy.maglev(), 2);
    Lease lease = lb.lease("shards");
    List<String> reasons = new ArrayList<>();
    lease.onEnded(reasons::add);
    lease.close();
    lb.setAdminState("db", lease.backend().id(), AdminState.DISABLED);
    assertEquals(List.of(), reasons);
  }

  @Test
  void lease_drainDeadline_endsItUnderTheFakeClock() {
    Duration interval = Duration.ofSeconds(5);
    LoadBalancerConfig base = KeySelectionTest.config(SelectionPolicy.maglev(), 1, 1);
    LoadBalancingRule rule =
        base.loadBalancingRule("shards").toBuilder()
            .probe("tcp")
            .unhealthyFlowPolicy(UnhealthyFlowPolicy.CLOSE_AFTER_DRAIN_TIMEOUT)
            .drainTimeout(Duration.ofSeconds(30))
            .build();
    LoadBalancerConfig config =
        LoadBalancerConfig.builder()
            .frontend(base.frontends().get(0))
            .pool(base.pools().get(0))
            .probe(
                HealthProbe.builder("tcp")
                    .interval(interval)
                    .timeout(Duration.ofSeconds(2))
                    .healthyThreshold(1)
                    .unhealthyThreshold(1)
                    .jitterPercent(0)
                    .build())
            .rule(rule)
            .build();
    lb =
        L4LoadBalancer.builder()
            .config(config)
            .ticker(clock)
            .clock(clock)
            .maintenanceScheduler(clock)
            .probeScheduler(clock)
            .healthChecker(checker)
            .probeSeed(1)
            .build();
    List<java.time.Instant> downAt = new ArrayList<>();
    lb.addListener(
        new io.lb4j.LoadBalancerListener() {
          @Override
          public void onHealthChange(io.lb4j.HealthEvent event) {
            if (event.to() == HealthState.UNHEALTHY) {
              downAt.add(event.time());
            }
          }
        });
    clock.forwardTime(interval);
    Lease lease = lb.leaseByKey("shards", 3L);
    String backend = lease.backend().id();
    List<String> reasons = new ArrayList<>();
    lease.onEnded(reasons::add);
    InetSocketAddress target = lease.target();
    checker.answer(target, ProbeOutcome.REFUSED);
    clock.forwardTime(interval);
    assertEquals(HealthState.UNHEALTHY, lb.health("shards", backend).state());
    clock.forwardTime(Duration.between(clock.instant(), downAt.get(0).plusSeconds(29)));
    assertTrue(lease.isActive(), "still draining");
    clock.forwardTime(Duration.ofSeconds(1));
    assertFalse(lease.isActive());
    assertEquals(List.of("backend unhealthy for the rule's drain timeout (30s)"), reasons);
    assertEquals(0, active(backend));
  }

  @Test
  void lease_retryAttempt_takesAnUntriedBackend() {
    lb = balancer(SelectionPolicy.maglev(), 3);
    long hash = lb.keyHash("k");
    Lease first = lb.leaseByKeyHash("shards", hash, 0, new String[0], 0);
    String[] tried = {first.backend().id(), null, null};
    first.close();
    Lease second = lb.leaseByKeyHash("shards", hash, 1, tried, 1);
    assertNotEquals(tried[0], second.backend().id());
    tried[1] = second.backend().id();
    second.close();
    Lease third = lb.leaseByKeyHash("shards", hash, 2, tried, 2);
    assertNotEquals(tried[0], third.backend().id());
    assertNotEquals(tried[1], third.backend().id());
    tried[2] = third.backend().id();
    third.close();
    Lease none = lb.leaseByKeyHash("shards", hash, 3, tried, 3);
    assertFalse(none.isGranted());
    assertEquals(io.lb4j.Selection.Status.NO_AVAILABLE_BACKEND, none.selection().status());
    none.close();
    assertThrows(
        IllegalArgumentException.class, () -> lb.leaseByKeyHash("shards", hash, -1, tried, 0));
    assertThrows(
        IllegalArgumentException.class, () -> lb.leaseByKeyHash("shards", hash, 1, tried, 4));
  }

  @Test
  void lease_refused_holdsNothing() {
    lb = balancer(SelectionPolicy.maglev(), 1);
    lb.setHealthOverride("db", "db-0", io.lb4j.HealthOverride.FORCE_DOWN);
    Lease lease = lb.lease("shards");
    assertFalse(lease.isGranted());
    assertFalse(lease.isActive());
    assertNull(lease.backend());
    assertTrue(
        lease.endReason().startsWith("not granted: NO_AVAILABLE_BACKEND"), lease.endReason());
    lease.close();
    assertEquals(0, active("db-0"));
  }

  @Test
  void lease_ofAFlow_isInTheFlowTableUntilClosed() {
    lb = balancer(SelectionPolicy.maglev(), 3);
    FlowKey flow =
        FlowKey.of(
            Protocol.TCP,
            new InetSocketAddress("127.0.0.9", 40001),
            new InetSocketAddress("127.0.0.1", 5432));
    Lease lease = lb.lease(flow);
    assertSame(flow, lease.flow());
    FlowExplanation e = lb.explain(flow);
    assertTrue(e.fromFlowTable());
    assertEquals(lease.backend(), e.selection().backend());
    assertEquals(1, lb.activeFlows());
    assertEquals(1, active(lease.backend().id()), "the flow counts once");
    lease.touch();
    lease.close();
    assertEquals(0, lb.activeFlows());
    assertEquals(0, active(lease.backend().id()));
    assertFalse(lb.explain(flow).fromFlowTable());
  }

  @Test
  void lease_droppedWithoutClose_isReportedAndReleased() {
    lb = balancer(SelectionPolicy.maglev(), 2);
    WeakReference<Lease> ref = leakOne();
    String backend = lb.pickByKey("shards", "leaky").backend().id();
    assertEquals(1, active(backend));
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    while (lb.leakedLeases() == 0 && System.nanoTime() < deadline) {
      System.gc();
      java.util.concurrent.locks.LockSupport.parkNanos(10_000_000);
    }
    assertNull(ref.get());
    assertEquals(1, lb.leakedLeases(), "the leak was reported");
    assertEquals(0, active(backend), "and its load released");
  }

  private WeakReference<Lease> leakOne() {
    return new WeakReference<>(lb.leaseByKey("shards", "leaky"));
  }

  @Test
  void lease_afterBalancerClose_holdsNothing_andClosingEndsHeldOnes() {
    lb = balancer(SelectionPolicy.maglev(), 2);
    Lease held = lb.lease("shards");
    List<String> reasons = new ArrayList<>();
    held.onEnded(reasons::add);
    lb.close();
    assertEquals(List.of("balancer closed"), reasons);
    Lease late = lb.lease("shards");
    assertTrue(late.isGranted(), "answered as before");
    assertFalse(late.isActive(), "but holds nothing");
  }

  @Test
  void lease_manyThreads_countsBalance() throws Exception {
    lb = balancer(SelectionPolicy.of(SelectionAlgorithm.LEAST_CONNECTIONS), 4);
    Thread[] threads = new Thread[4];
    for (int t = 0; t < threads.length; t++) {
      threads[t] =
          new Thread(
              () -> {
                for (int i = 0; i < 20_000; i++) {
                  lb.lease("shards").close();
                }
              });
      threads[t].start();
    }
    for (Thread t : threads) {
      t.join(60_000);
      assertFalse(t.isAlive());
    }
    for (int b = 0; b < 4; b++) {
      assertEquals(0, active("db-" + b));
    }
    assertEquals(0, lb.leakedLeases());
  }
}
