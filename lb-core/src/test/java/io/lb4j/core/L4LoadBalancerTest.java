package io.lb4j.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lb4j.AdminState;
import io.lb4j.Backend;
import io.lb4j.BackendPool;
import io.lb4j.DistributionMode;
import io.lb4j.FlowKey;
import io.lb4j.Frontend;
import io.lb4j.HealthOverride;
import io.lb4j.InboundNatRule;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancingRule;
import io.lb4j.Protocol;
import io.lb4j.Selection;
import io.lb4j.SelectionAlgorithm;
import io.lb4j.SelectionPolicy;
import io.lb4j.core.flow.FlowTable;
import io.lb4j.testing.FakeClock;
import io.lb4j.testing.TestBackends;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class L4LoadBalancerTest {
  private static final long SEED = 4;
  private static final int FRONTEND = 0x7f000001; // 127.0.0.1
  private static final Duration IDLE = Duration.ofMinutes(4);

  /** How late an idle flow is handed over: about a second (2^30 ns), Caffeine's timer wheel. */
  /** How long after its idle timeout a flow may stay known (two flow-table maintenance ticks). */
  private static final Duration EXPIRY_LATENESS =
      Duration.ofNanos(FlowTable.latestExpiryNanos(IDLE.toNanos())).minus(IDLE);

  private final FakeClock clock = new FakeClock();

  private L4LoadBalancer balancer(LoadBalancingRule.Builder rule, int backends) {
    return balancer(rule, backends, 1_000_000);
  }

  private L4LoadBalancer balancer(LoadBalancingRule.Builder rule, int backends, long capacity) {
    LoadBalancerConfig config =
        LoadBalancerConfig.builder()
            .frontend(Frontend.of("fe", "127.0.0.1"))
            .pool(new BackendPool("web", TestBackends.loopback("web", backends)))
            .rule(rule.build())
            .natRule(
                InboundNatRule.builder("ssh-web-1")
                    .frontend("fe")
                    .frontendPort(50001)
                    .backendPool("web")
                    .backend("web-1")
                    .backendPort(22)
                    .build())
            .build();
    return L4LoadBalancer.builder()
        .config(config)
        .ticker(clock)
        .maintenanceScheduler(clock)
        .flowTableCapacity(capacity)
        .build();
  }

  private static LoadBalancingRule.Builder http() {
    return LoadBalancingRule.builder("http")
        .frontend("fe")
        .frontendPort(80)
        .backendPool("web")
        .backendPort(8080)
        .idleTimeout(IDLE);
  }

  private static FlowKey flow(int client, int port) {
    return FlowKey.ipv4(0x7f000100 + client, port, FRONTEND, 80, Protocol.TCP);
  }

  @Test
  void select_newFlow_selectsBackendAndRecordsIt() {
    L4LoadBalancer lb = balancer(http(), 3);
    Selection s = lb.select(flow(1, 40000));
    assertTrue(s.isSelected());
    assertEquals("http", s.rule());
    assertEquals(8080, s.target().getPort());
    assertEquals(1, lb.activeFlows());
    assertEquals(1, lb.activeFlows("http", s.backend().id()));
    assertSame(s, lb.select(flow(1, 40000)));
    assertEquals(1, lb.activeFlows());
  }

  @Test
  void select_backendRemoved_existingFlowKeepsItNewFlowsAvoidIt() {
    L4LoadBalancer lb = balancer(http(), 5);
    Map<FlowKey, String> before = new HashMap<>();
    for (int i = 0; i < 200; i++) {
      before.put(flow(i, 40000), lb.select(flow(i, 40000)).backend().id());
    }
    String victim = before.get(flow(0, 40000));
    assertTrue(lb.removeBackend("web", victim));
    for (Map.Entry<FlowKey, String> e : before.entrySet()) {
      assertEquals(e.getValue(), lb.select(e.getKey()).backend().id(), "pinned flow moved");
    }
    for (int i = 0; i < 500; i++) {
      assertNotEquals(victim, lb.select(flow(i, 50000)).backend().id());
      assertNotEquals(victim, lb.pick(flow(i, 60000)).backend().id());
    }
    // the removed backend's flows are still counted until they close
    int pinned = (int) before.values().stream().filter(victim::equals).count();
    assertEquals(pinned, lb.activeFlows("http", victim));
    for (Map.Entry<FlowKey, String> e : before.entrySet()) {
      if (e.getValue().equals(victim)) {
        assertTrue(lb.flowClosed(e.getKey()));
      }
    }
    assertEquals(0, lb.activeFlows("http", victim));
  }

  @Test
  void select_weightHealthAndDrainChanges_keepExistingFlows() {
    L4LoadBalancer lb = balancer(http(), 4);
    FlowKey f = flow(7, 40000);
    String id = lb.select(f).backend().id();
    lb.setWeight("web", id, 0);
    assertEquals(id, lb.select(f).backend().id());
    lb.setWeight("web", id, 1);
    lb.setHealthOverride("web", id, HealthOverride.FORCE_DOWN);
    assertEquals(id, lb.select(f).backend().id());
    lb.setAdminState("web", id, AdminState.DRAINING);
    assertEquals(id, lb.select(f).backend().id());
    assertEquals(AdminState.DRAINING, lb.select(f).backend().adminState());
    for (int i = 0; i < 300; i++) {
      assertNotEquals(id, lb.select(flow(i, 50000)).backend().id());
    }
  }

  @Test
  void select_backendDisabled_pinnedFlowReassigned() {
    L4LoadBalancer lb = balancer(http(), 4);
    FlowKey f = flow(3, 40000);
    String id = lb.select(f).backend().id();
    lb.setAdminState("web", id, AdminState.DISABLED);
    String now = lb.select(f).backend().id();
    assertNotEquals(id, now);
    assertEquals(0, lb.activeFlows("http", id));
    assertEquals(1, lb.activeFlows("http", now));
    assertEquals(1, lb.activeFlows());
  }

  @Test
  void select_idleTimeoutPasses_flowExpiresAndIsUncounted() {
    L4LoadBalancer lb = balancer(http(), 3);
    FlowKey f = flow(1, 40000);
    String id = lb.select(f).backend().id();
    clock.forwardTime(IDLE.minusSeconds(1));
    lb.select(f); // activity restarts the idle timer
    clock.forwardTime(IDLE.minusSeconds(1));
    lb.cleanUp();
    assertEquals(1, lb.activeFlows());
    assertEquals(1, lb.activeFlows("http", id));
    clock.forwardTime(Duration.ofSeconds(2).plus(EXPIRY_LATENESS));
    lb.cleanUp();
    assertEquals(0, lb.activeFlows());
    assertEquals(0, lb.activeFlows("http", id));
    assertFalse(lb.flowClosed(f));
  }

  @Test
  void select_removedBackendFlowIdlesOut_slotForgotten() {
    L4LoadBalancer lb = balancer(http(), 3);
    FlowKey f = flow(1, 40000);
    String id = lb.select(f).backend().id();
    lb.removeBackend("web", id);
    clock.forwardTime(IDLE.plus(EXPIRY_LATENESS));
    lb.cleanUp();
    assertEquals(0, lb.activeFlows("http", id));
    lb.addBackend("web", Backend.of(id, "127.0.0.99"));
    assertEquals(0, lb.activeFlows("http", id));
  }

  @Test
  void select_flowTableFull_refusesNewKeepsEstablished() {
    L4LoadBalancer lb = balancer(http(), 3, 2);
    Selection a = lb.select(flow(1, 1));
    Selection b = lb.select(flow(2, 2));
    Selection c = lb.select(flow(3, 3));
    assertEquals(Selection.Status.FLOW_TABLE_FULL, c.status());
    assertEquals(
        "http: the flow table is full (2 flows); new flows are refused, established"
            + " flows are kept",
        c.detail());
    assertSame(a, lb.select(flow(1, 1)));
    assertSame(b, lb.select(flow(2, 2)));
    lb.flowClosed(flow(1, 1));
    assertTrue(lb.select(flow(3, 3)).isSelected());
  }

  @Test
  void select_noRuleForDestination_answersNoRule() {
    L4LoadBalancer lb = balancer(http(), 3);
    Selection s = lb.select(FlowKey.ipv4(0x7f000002, 1, FRONTEND, 81, Protocol.TCP));
    assertEquals(Selection.Status.NO_RULE, s.status());
    assertEquals(
        Selection.Status.NO_RULE,
        lb.select(FlowKey.ipv4(0x7f000002, 1, FRONTEND, 80, Protocol.UDP)).status());
    assertEquals(
        Selection.Status.NO_RULE,
        lb.select(FlowKey.ipv4(0x7f000002, 1, FRONTEND + 1, 80, Protocol.TCP)).status());
    assertEquals(0, lb.activeFlows());
  }

  @Test
  void select_allOutOfRotation_answersWhy() {
    L4LoadBalancer lb = balancer(http(), 4);
    lb.setHealthOverride("web", "web-0", HealthOverride.FORCE_DOWN);
    lb.setHealthOverride("web", "web-1", HealthOverride.FORCE_DOWN);
    lb.setAdminState("web", "web-2", AdminState.DRAINING);
    lb.setWeight("web", "web-3", 0);
    Selection s = lb.select(flow(1, 1));
    assertEquals(Selection.Status.NO_AVAILABLE_BACKEND, s.status());
    assertEquals(
        "http: pool 'web' has 4 backends, none available (2 unhealthy, 1 draining,"
            + " 1 weight 0)",
        s.detail());
    lb.setHealthOverride("web", "web-1", HealthOverride.FOLLOW_PROBE);
    assertEquals("web-1", lb.select(flow(1, 1)).backend().id());
  }

  @Test
  void select_emptyPool_answersNoBackend() {
    LoadBalancerConfig config =
        LoadBalancerConfig.builder()
            .frontend(Frontend.of("fe", "127.0.0.1"))
            .pool(new BackendPool("web", TestBackends.loopback("web", 2)))
            .rule(http().build())
            .build();
    L4LoadBalancer lb = L4LoadBalancer.builder().config(config).build();
    lb.removeBackend("web", "web-0");
    lb.removeBackend("web", "web-1");
    Selection s = lb.select(flow(1, 1));
    assertEquals(Selection.Status.NO_BACKEND, s.status());
    assertEquals("http: pool 'web' has no backends", s.detail());
  }

  @Test
  void removeBackend_targetOfNatRule_isRefused() {
    L4LoadBalancer lb = balancer(http(), 2);
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> lb.removeBackend("web", "web-1"));
    assertEquals(
        "backendId: 'web-1' is the target of inbound NAT rule 'ssh-web-1' (expected: a"
            + " backend no NAT rule names; drain it with setAdminState(DRAINING) instead)",
        e.getMessage());
    assertEquals(2, lb.config().pool("web").backends().size());
  }

  @Test
  void select_natRule_reachesNamedBackendPort() {
    L4LoadBalancer lb = balancer(http(), 3);
    for (int i = 0; i < 50; i++) {
      Selection s = lb.select(FlowKey.ipv4(0x7f000002 + i, 40000, FRONTEND, 50001, Protocol.TCP));
      assertEquals("web-1", s.backend().id());
      assertEquals(22, s.target().getPort());
      assertEquals("ssh-web-1", s.rule());
    }
    lb.setAdminState("web", "web-1", AdminState.DISABLED);
    Selection s = lb.select(FlowKey.ipv4(0x7f0000ff, 1, FRONTEND, 50001, Protocol.TCP));
    assertEquals(Selection.Status.NO_AVAILABLE_BACKEND, s.status());
    assertEquals("ssh-web-1: backend 'web-1' is DISABLED", s.detail());
  }

  @Test
  void select_sourceIpMode_keepsOneClientOnOneBackend() {
    L4LoadBalancer lb = balancer(http().distributionMode(DistributionMode.SOURCE_IP), 10);
    for (int client = 0; client < 20; client++) {
      Set<String> seen = new HashSet<>();
      for (int port = 1024; port < 1224; port++) {
        seen.add(lb.select(flow(client, port)).backend().id());
      }
      assertEquals(1, seen.size(), "client " + client + " spread over " + seen);
    }
  }

  @Test
  void select_fiveTupleMode_spreadsOneClientsPorts() {
    L4LoadBalancer lb = balancer(http(), 10);
    Map<String, Integer> counts = new HashMap<>();
    for (int port = 1024; port < 3024; port++) {
      counts.merge(lb.select(flow(1, port)).backend().id(), 1, Integer::sum);
    }
    assertEquals(10, counts.size(), "backends reached: " + counts);
    for (int c : counts.values()) {
      assertEquals(200, c, 60, "counts " + counts);
    }
  }

  @Test
  void select_sourceIpProtocolMode_separatesTcpFromUdp() {
    LoadBalancerConfig config =
        LoadBalancerConfig.builder()
            .frontend(Frontend.of("fe", "127.0.0.1"))
            .pool(new BackendPool("dns", TestBackends.loopback("dns", 10)))
            .rule(
                LoadBalancingRule.builder("dns-tcp")
                    .frontend("fe")
                    .frontendPort(53)
                    .backendPool("dns")
                    .distributionMode(DistributionMode.SOURCE_IP_PROTOCOL)
                    .build())
            .rule(
                LoadBalancingRule.builder("dns-udp")
                    .frontend("fe")
                    .frontendPort(53)
                    .protocol(Protocol.UDP)
                    .backendPool("dns")
                    .distributionMode(DistributionMode.SOURCE_IP_PROTOCOL)
                    .build())
            .build();
    L4LoadBalancer lb = L4LoadBalancer.builder().config(config).build();
    int differ = 0;
    for (int client = 0; client < 200; client++) {
      int src = 0x7f000200 + client;
      String tcp = lb.pick(FlowKey.ipv4(src, 1000, FRONTEND, 53, Protocol.TCP)).backend().id();
      String tcp2 = lb.pick(FlowKey.ipv4(src, 2000, FRONTEND, 53, Protocol.TCP)).backend().id();
      String udp = lb.pick(FlowKey.ipv4(src, 1000, FRONTEND, 53, Protocol.UDP)).backend().id();
      assertEquals(tcp, tcp2, "ports must not matter");
      differ += tcp.equals(udp) ? 0 : 1;
    }
    // independent hashes agree 1 time in 10
    assertTrue(differ > 150, "TCP and UDP differ for only " + differ + " of 200 clients");
  }

  @ParameterizedTest
  @EnumSource(
      value = SelectionAlgorithm.class,
      names = {"LEAST_CONNECTIONS", "WEIGHTED_LEAST_CONNECTIONS", "POWER_OF_TWO_CHOICES"})
  void select_connectionSchedulers_seeFlowCountsFromTheTable(SelectionAlgorithm algorithm) {
    L4LoadBalancer lb = balancer(http().algorithm(algorithm), 4);
    for (int i = 0; i < 400; i++) {
      lb.select(flow(i, 40000));
    }
    for (int b = 0; b < 4; b++) {
      int n = lb.activeFlows("http", "web-" + b);
      // least connections keeps them level; two choices within a few
      assertEquals(
          100,
          n,
          algorithm == SelectionAlgorithm.POWER_OF_TWO_CHOICES ? 15 : 1,
          algorithm + " web-" + b);
    }
  }

  @Test
  void select_boundedLoad_capsTheHotBackend() {
    L4LoadBalancer lb =
        balancer(
            http()
                .selection(SelectionPolicy.maglev().withBoundedLoad())
                .distributionMode(DistributionMode.SOURCE_IP),
            4);
    // one client: SOURCE_IP alone would send every flow to one backend
    for (int port = 0; port < 400; port++) {
      assertTrue(lb.select(flow(1, port)).isSelected());
    }
    for (int b = 0; b < 4; b++) {
      int n = lb.activeFlows("http", "web-" + b);
      assertTrue(n <= Math.ceil(1.25 * 400 / 4), "web-" + b + " has " + n);
    }
  }

  @Test
  void pick_recordsNothing() {
    L4LoadBalancer lb = balancer(http(), 3);
    Selection s = lb.pick(flow(1, 1));
    assertTrue(s.isSelected());
    assertEquals(0, lb.activeFlows());
    assertEquals(s.backend(), lb.select(flow(1, 1)).backend());
  }

  @Test
  void close_forgetsFlowsAndStopsRecording() {
    L4LoadBalancer lb = balancer(http(), 3);
    lb.select(flow(1, 1));
    lb.close();
    assertEquals(0, lb.activeFlows());
    assertTrue(lb.select(flow(2, 2)).isSelected());
    assertEquals(0, lb.activeFlows());
  }

  @Test
  void runtimeChanges_unknownNames_areRefusedWithWhatIsKnown() {
    L4LoadBalancer lb = balancer(http(), 2);
    assertEquals(
        "pool: 'api' is not defined (known pools: [web])",
        assertThrows(
                IllegalArgumentException.class,
                () -> lb.addBackend("api", Backend.of("x", "127.0.0.9")))
            .getMessage());
    assertEquals(
        "backendId: 'web-9' is not defined in pool 'web' (known backends: [web-0," + " web-1])",
        assertThrows(IllegalArgumentException.class, () -> lb.setWeight("web", "web-9", 2))
            .getMessage());
    assertEquals(
        "rule: 'https' is not defined (known rules: [http, ssh-web-1])",
        assertThrows(IllegalArgumentException.class, () -> lb.health("https", "web-0"))
            .getMessage());
    assertEquals(
        "weight: 70000 (expected: 0-65535)",
        assertThrows(IllegalArgumentException.class, () -> lb.setWeight("web", "web-0", 70000))
            .getMessage());
    assertFalse(lb.removeBackend("web", "web-9"));
  }

  @Test
  void addBackend_movesFewFlows() {
    // Adding an 11th backend moves about 1/11 of new-flow assignments to it; Maglev moves a few
    // more between old backends (the paper's 'nearly minimal'): bounded at 2% here.
    L4LoadBalancer lb = balancer(http(), 10);
    SplittableRandom random = new SplittableRandom(SEED);
    FlowKey[] flows = new FlowKey[20_000];
    String[] before = new String[flows.length];
    for (int i = 0; i < flows.length; i++) {
      flows[i] = FlowKey.ipv4(random.nextInt(), random.nextInt(65536), FRONTEND, 80, Protocol.TCP);
      before[i] = lb.pick(flows[i]).backend().id();
    }
    lb.addBackend("web", Backend.of("web-new", "127.0.1.1"));
    int moved = 0;
    int excess = 0;
    for (int i = 0; i < flows.length; i++) {
      String now = lb.pick(flows[i]).backend().id();
      if (now.equals("web-new")) {
        moved++;
      } else if (!now.equals(before[i])) {
        excess++;
      }
    }
    assertEquals(1.0 / 11, (double) moved / flows.length, 0.01, "seed " + SEED);
    assertTrue((double) excess / flows.length < 0.02, "excess " + excess + ", seed " + SEED);
  }

  @Test
  void reselect_afterConnectFailure_movesTheFlowAndItsCount() {
    L4LoadBalancer lb = balancer(http(), 5);
    FlowKey f = flow(9, 40000);
    String first = lb.select(f).backend().id();
    String other = null;
    for (int attempt = 1; attempt <= 10 && other == null; attempt++) {
      String id = lb.reselect(f, attempt).backend().id();
      other = id.equals(first) ? null : id;
    }
    assertTrue(other != null, "ten attempts never left " + first);
    assertEquals(other, lb.select(f).backend().id(), "the flow is pinned to the new backend");
    assertEquals(0, lb.activeFlows("http", first));
    assertEquals(1, lb.activeFlows("http", other));
    assertEquals(1, lb.activeFlows());
    assertEquals(
        "attempt: 0 (expected: >= 1)",
        assertThrows(IllegalArgumentException.class, () -> lb.reselect(f, 0)).getMessage());
  }

  @Test
  void reconfigure_newConfig_keepsEstablishedFlowsAndAppliesTheRest() {
    L4LoadBalancer lb = balancer(http(), 3);
    FlowKey f = flow(1, 40000);
    String pinned = lb.select(f).backend().id();
    LoadBalancerConfig next = lb.config().toBuilder().build();
    LoadBalancerConfig changed =
        LoadBalancerConfig.builder()
            .frontend(Frontend.of("fe", "127.0.0.1"))
            .pool(new BackendPool("web", TestBackends.loopback("web", 6)))
            .rule(http().algorithm(SelectionAlgorithm.RING_HASH).build())
            .natRule(next.inboundNatRules().get(0))
            .build();
    lb.reconfigure(changed);
    assertEquals(pinned, lb.select(f).backend().id(), "established flow moved on reload");
    assertEquals(1, lb.activeFlows("http", pinned));
    assertEquals(
        SelectionAlgorithm.RING_HASH,
        lb.config().loadBalancingRule("http").selection().algorithm());
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < 600; i++) {
      seen.add(lb.pick(flow(i, 50000)).backend().id());
    }
    assertEquals(6, seen.size(), "new backends take new flows: " + seen);
    // a rule that is gone answers NO_RULE to new flows
    lb.reconfigure(
        LoadBalancerConfig.builder()
            .frontend(Frontend.of("fe", "127.0.0.1"))
            .pool(new BackendPool("web", TestBackends.loopback("web", 2)))
            .build());
    assertEquals(Selection.Status.NO_RULE, lb.pick(flow(2, 2)).status());
  }
}
