package io.lb4j.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lb4j.AdminState;
import io.lb4j.Backend;
import io.lb4j.BackendPool;
import io.lb4j.Finding;
import io.lb4j.FlowKey;
import io.lb4j.Frontend;
import io.lb4j.HealthOverride;
import io.lb4j.InboundNatRule;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancerListener;
import io.lb4j.LoadBalancingRule;
import io.lb4j.Protocol;
import io.lb4j.discovery.Discovery;
import io.lb4j.discovery.DiscoveryOptions;
import io.lb4j.discovery.DiscoveryStatus;
import io.lb4j.discovery.Member;
import io.lb4j.discovery.MembershipSource;
import io.lb4j.testing.FakeClock;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Applying a membership source's answers: one rebuild per change, none for an equal answer, the
 * last good set on failure, the guard, drains, the finding. The source here is scripted by the
 * test: the SPI's contract is what is under test; the real DNS, xDS and Kubernetes sources are
 * tested against real servers in their modules.
 */
class DiscoveriesTest {
  private final FakeClock clock = new FakeClock();
  private final ScriptedSource source = new ScriptedSource();
  private final List<LoadBalancerConfig> rebuilds = new ArrayList<>();
  private L4LoadBalancer lb;

  /** A source whose answers the test gives. */
  static final class ScriptedSource implements MembershipSource {
    Listener listener;
    boolean closed;

    @Override
    public String describe() {
      return "scripted source";
    }

    @Override
    public void start(Listener listener) {
      this.listener = listener;
    }

    @Override
    public void close() {
      closed = true;
    }
  }

  @AfterEach
  void close() {
    if (lb != null) {
      lb.close();
    }
  }

  private static Member member(int host) {
    try {
      return Member.of(InetAddress.getByName("127.0.0." + host), 8080);
    } catch (UnknownHostException e) {
      throw new AssertionError(e);
    }
  }

  private static List<Member> members(int... hosts) {
    List<Member> out = new ArrayList<>();
    for (int h : hosts) {
      out.add(member(h));
    }
    return out;
  }

  private Discovery balancer(DiscoveryOptions options, LoadBalancerConfig.Builder extra) {
    LoadBalancerConfig config =
        extra
            .frontend(Frontend.of("fe", "127.0.0.1"))
            .pool(BackendPool.of("web", Backend.of("seed", "127.0.0.2", 8080)))
            .rule(
                LoadBalancingRule.builder("http")
                    .frontend("fe")
                    .frontendPort(80)
                    .backendPool("web")
                    .backendPort(8080)
                    .build())
            .build();
    lb = L4LoadBalancer.builder().config(config).clock(clock).ticker(clock).build();
    lb.addListener(
        new LoadBalancerListener() {
          @Override
          public void onReconfigured(LoadBalancerConfig c) {
            rebuilds.add(c);
          }
        });
    return lb.attach("web", source, options);
  }

  private Set<String> poolIds() {
    Set<String> ids = new HashSet<>();
    lb.config().pool("web").backends().forEach(b -> ids.add(b.id()));
    return ids;
  }

  private static FlowKey flow(int port) {
    return FlowKey.ipv4(0x7f000009, port, 0x7f000001, 80, Protocol.TCP);
  }

  @Test
  void answers_becomeThePool_oneRebuildEach_noneWhenEqual() {
    Discovery d = balancer(DiscoveryOptions.DEFAULT, LoadBalancerConfig.builder());
    assertEquals(DiscoveryStatus.State.WAITING, d.status().state());
    source.listener.onMembers(members(3, 4, 5));
    assertEquals(Set.of("127.0.0.3:8080", "127.0.0.4:8080", "127.0.0.5:8080"), poolIds());
    assertEquals(1, rebuilds.size());
    source.listener.onMembers(members(5, 4, 3)); // the same set in another order
    source.listener.onMembers(members(3, 4, 5));
    assertEquals(1, rebuilds.size(), "equal answers rebuild nothing");
    DiscoveryStatus s = d.status();
    assertEquals(DiscoveryStatus.State.OK, s.state());
    assertEquals(1, s.answersApplied());
    assertEquals(2, s.answersUnchanged());
    assertEquals(3, s.members());
    source.listener.onMembers(List.of(member(3), member(4).withWeight(3), member(5)));
    assertEquals(2, rebuilds.size());
    assertEquals(3, lb.config().pool("web").backend("127.0.0.4:8080").weight());
  }

  @Test
  void removedMember_keepsItsEstablishedFlows_newOnesGoElsewhere() {
    balancer(DiscoveryOptions.DEFAULT, LoadBalancerConfig.builder());
    source.listener.onMembers(members(3, 4));
    List<FlowKey> onFour = new ArrayList<>();
    for (int p = 40000; onFour.size() < 3 && p < 41000; p++) {
      if (lb.select(flow(p)).backend().id().equals("127.0.0.4:8080")) {
        onFour.add(flow(p));
      }
    }
    source.listener.onMembers(members(3));
    for (FlowKey f : onFour) {
      assertEquals("127.0.0.4:8080", lb.select(f).backend().id(), "established flows stay");
    }
    assertEquals(3, lb.activeFlows("http", "127.0.0.4:8080"));
    assertEquals("127.0.0.3:8080", lb.pick(flow(50000)).backend().id());
  }

  @Test
  void statesMapToAdminStateAndOverride() {
    balancer(DiscoveryOptions.DEFAULT, LoadBalancerConfig.builder());
    source.listener.onMembers(
        List.of(
            member(3),
            member(4).withState(Member.State.DRAINING),
            member(5).withState(Member.State.UNHEALTHY).withZone("z1")));
    BackendPool p = lb.config().pool("web");
    assertEquals(AdminState.DRAINING, p.backend("127.0.0.4:8080").adminState());
    assertEquals(HealthOverride.FORCE_DOWN, p.backend("127.0.0.5:8080").healthOverride());
    for (int port = 40000; port < 40200; port++) {
      assertEquals("127.0.0.3:8080", lb.pick(flow(port)).backend().id());
    }
  }

  @Test
  void failure_keepsTheLastGoodSet_andTheFindingSaysHowOld() {
    Discovery d = balancer(DiscoveryOptions.DEFAULT, LoadBalancerConfig.builder());
    source.listener.onMembers(members(3, 4));
    clock.forwardTime(Duration.ofSeconds(90));
    source.listener.onFailure("NXDOMAIN for web.test A via 127.0.0.53:5353");
    source.listener.onFailure("NXDOMAIN for web.test A via 127.0.0.53:5353");
    assertEquals(Set.of("127.0.0.3:8080", "127.0.0.4:8080"), poolIds());
    DiscoveryStatus s = d.status();
    assertEquals(DiscoveryStatus.State.FAILING, s.state());
    assertEquals(2, s.failures());
    assertEquals(Duration.ofSeconds(90), s.ageOfLastGoodAnswer(clock.instant()));
    List<Finding> f = lb.diagnose().of(Finding.Check.DISCOVERY_FAILING);
    assertEquals(1, f.size());
    assertTrue(
        f.get(0).what().contains("keeps the 2 members of the last good answer, 1m30s old"),
        f.get(0).what());
    assertTrue(f.get(0).evidence().get(1).contains("NXDOMAIN"), f.get(0).evidence().toString());
    source.listener.onMembers(members(3, 4, 5));
    assertEquals(DiscoveryStatus.State.OK, d.status().state());
    assertTrue(lb.diagnose().of(Finding.Check.DISCOVERY_FAILING).isEmpty());
  }

  @Test
  void guard_refusesAnEmptyAnswer_andTooLargeARemoval() {
    Discovery d = balancer(new DiscoveryOptions(false, 50), LoadBalancerConfig.builder());
    source.listener.onMembers(members(3, 4, 5, 6));
    source.listener.onMembers(List.of());
    assertEquals(4, poolIds().size(), "empty answer refused");
    assertEquals(DiscoveryStatus.State.REFUSED, d.status().state());
    assertTrue(d.status().lastProblem().contains("empty answer"), d.status().lastProblem());
    source.listener.onMembers(members(3)); // removes 3 of 4
    assertEquals(4, poolIds().size(), "75% removal refused at 50%");
    source.listener.onMembers(members(3, 4)); // removes 2 of 4
    assertEquals(Set.of("127.0.0.3:8080", "127.0.0.4:8080"), poolIds());
    assertEquals(2, d.status().answersRefused());
  }

  @Test
  void guard_allowsAnEmptyAnswerWhenAsked() {
    balancer(new DiscoveryOptions(true, 100), LoadBalancerConfig.builder());
    source.listener.onMembers(members(3));
    source.listener.onMembers(List.of());
    assertTrue(poolIds().isEmpty());
    assertEquals(io.lb4j.Selection.Status.NO_BACKEND, lb.pick(flow(1)).status());
  }

  @Test
  void malformedAnswer_isAFailure() {
    Discovery d = balancer(DiscoveryOptions.DEFAULT, LoadBalancerConfig.builder());
    source.listener.onMembers(List.of(member(3), member(3)));
    assertEquals(DiscoveryStatus.State.FAILING, d.status().state());
    assertTrue(d.status().lastProblem().contains("id '127.0.0.3:8080' twice"));
    assertEquals(Set.of("seed"), poolIds());
  }

  @Test
  void reload_keepsDiscoveredMembers() {
    balancer(DiscoveryOptions.DEFAULT, LoadBalancerConfig.builder());
    source.listener.onMembers(members(3, 4));
    lb.reconfigure(lb.config().withPool(BackendPool.of("web", Backend.of("seed", "127.0.0.2"))));
    assertEquals(Set.of("127.0.0.3:8080", "127.0.0.4:8080"), poolIds());
  }

  @Test
  void close_detachesAndClosesTheSource() {
    Discovery d = balancer(DiscoveryOptions.DEFAULT, LoadBalancerConfig.builder());
    d.close();
    assertTrue(source.closed);
    assertTrue(lb.discoveries().isEmpty());
    source.listener.onMembers(members(3));
    assertEquals(Set.of("seed"), poolIds(), "a detached source changes nothing");
    ScriptedSource again = new ScriptedSource();
    lb.attach("web", again, DiscoveryOptions.DEFAULT); // the pool is free again
    lb.close();
    assertTrue(again.closed, "closing the balancer closes its sources");
  }

  @Test
  void attach_refusesUnknownPools_secondSources_andNatPools() {
    LoadBalancerConfig.Builder nat =
        LoadBalancerConfig.builder()
            .pool(BackendPool.of("ssh", Backend.of("vm-1", "127.0.0.7")))
            .natRule(
                InboundNatRule.builder("ssh-1")
                    .frontend("fe")
                    .frontendPort(2201)
                    .backendPool("ssh")
                    .backend("vm-1")
                    .backendPort(22)
                    .build());
    balancer(DiscoveryOptions.DEFAULT, nat);
    assertEquals(
        "pool: 'nope' (expected: one of [ssh, web])",
        assertThrows(
                IllegalArgumentException.class,
                () -> lb.attach("nope", new ScriptedSource(), DiscoveryOptions.DEFAULT))
            .getMessage());
    assertTrue(
        assertThrows(
                IllegalArgumentException.class,
                () -> lb.attach("web", new ScriptedSource(), DiscoveryOptions.DEFAULT))
            .getMessage()
            .contains("already has a source, scripted source"));
    assertTrue(
        assertThrows(
                IllegalArgumentException.class,
                () -> lb.attach("ssh", new ScriptedSource(), DiscoveryOptions.DEFAULT))
            .getMessage()
            .contains("inbound NAT rule 'ssh-1'"));
  }

  @Test
  void fingerprint_followsWhatDecidesSelection() {
    balancer(DiscoveryOptions.DEFAULT, LoadBalancerConfig.builder());
    source.listener.onMembers(members(3, 4));
    String two = lb.selectionFingerprint("http");
    assertTrue(two.matches("[0-9a-f]{16}"), two);
    source.listener.onMembers(members(4, 3));
    assertEquals(two, lb.selectionFingerprint("http"), "order does not matter");
    source.listener.onMembers(List.of(member(3), member(4).withWeight(2)));
    String weighted = lb.selectionFingerprint("http");
    assertNotEquals(two, weighted);
    lb.setHealthOverride("web", "127.0.0.4:8080", HealthOverride.FORCE_DOWN);
    assertNotEquals(weighted, lb.selectionFingerprint("http"), "rotation is part of it");
    L4LoadBalancer other =
        L4LoadBalancer.builder().config(lb.config()).seed(L4LoadBalancer.DEFAULT_SEED + 1).build();
    try {
      assertNotEquals(lb.selectionFingerprint("http"), other.selectionFingerprint("http"));
      assertTrue(lb.explain(flow(1)).ruleDescription().contains("selection fingerprint "));
    } finally {
      other.close();
    }
  }
}
