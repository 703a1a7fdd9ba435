package io.lb4j.dns;

import static io.lb4j.dns.DnsmasqTest.backendOf;
import static io.lb4j.dns.DnsmasqTest.flow;
import static io.lb4j.dns.DnsmasqTest.ids;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.lb4j.BackendPool;
import io.lb4j.FlowKey;
import io.lb4j.Frontend;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancingRule;
import io.lb4j.core.L4LoadBalancer;
import io.lb4j.discovery.Discovery;
import io.lb4j.discovery.DiscoveryOptions;
import io.lb4j.discovery.DiscoveryStatus;
import io.lb4j.discovery.Member;
import io.lb4j.discovery.MembershipSource;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A {@link DnsMembershipSource} on its own thread, in real time, attached to an {@link
 * L4LoadBalancer}, against a real dnsmasq answering with a TTL of 1 s: a member added to DNS
 * receives new flows, a member removed from DNS keeps its established flows, and how long a DNS
 * change takes to reach the data path (printed as {@code [measure]} lines; docs/discovery-dns.md).
 */
class DnsEndToEndTest {
  private static final String ADDRESS = "127.0.53.4";

  /** A change must show within the TTL (1 s) plus this much for the reload, query and apply. */
  private static final Duration SLACK = Duration.ofSeconds(2);

  private Dnsmasq dns;
  private L4LoadBalancer lb;
  private int nextFlow;

  /** For each change measured: how long until dnsmasq had re-read its hosts file. */
  private final List<Long> reloads = new ArrayList<>();

  /** For each change measured: how long until the source's answer had the new member. */
  private final List<Long> answers = new ArrayList<>();

  /** When the source last answered with each member id first, System.nanoTime(). */
  private final java.util.Map<String, Long> firstAnswered =
      new java.util.concurrent.ConcurrentHashMap<>();

  /** The source, with the time each member first appeared in an answer noted on the way. */
  private final class Timestamped implements MembershipSource {
    private final MembershipSource source;

    Timestamped(MembershipSource source) {
      this.source = source;
    }

    @Override
    public String describe() {
      return source.describe();
    }

    @Override
    public void start(Listener listener) {
      source.start(
          new Listener() {
            @Override
            public void onMembers(List<Member> members) {
              long now = System.nanoTime();
              for (Member m : members) {
                firstAnswered.putIfAbsent(m.id(), now);
              }
              listener.onMembers(members);
            }

            @Override
            public void onFailure(String reason) {
              listener.onFailure(reason);
            }
          });
    }

    @Override
    public void close() {
      source.close();
    }
  }

  @BeforeEach
  void start() throws Exception {
    dns =
        Dnsmasq.start(
            ADDRESS,
            List.of("local=/test/", "local-ttl=1"),
            "127.0.1.1 web.test\n127.0.1.2 web.test\n");
    lb =
        L4LoadBalancer.builder()
            .config(
                LoadBalancerConfig.builder()
                    .frontend(Frontend.of("fe", "127.0.0.1"))
                    .pool(new BackendPool("web", List.of()))
                    .rule(
                        LoadBalancingRule.builder("http")
                            .frontend("fe")
                            .frontendPort(80)
                            .backendPool("web")
                            .backendPort(8080)
                            .build())
                    .build())
            .build();
  }

  @AfterEach
  void stop() {
    try {
      if (lb != null) {
        lb.close();
      }
    } finally {
      if (dns != null) {
        dns.close();
      }
    }
  }

  private Discovery attach(Duration floor) {
    DnsMembershipSource source =
        DnsMembershipSource.builder("web.test")
            .port(8080)
            .server(dns.address())
            .ttlFloor(floor)
            .timeout(Duration.ofMillis(500))
            .build();
    Discovery d = lb.attach("web", new Timestamped(source), DiscoveryOptions.DEFAULT);
    await(Duration.ofSeconds(5), () -> d.status().state() == DiscoveryStatus.State.OK, "an answer");
    return d;
  }

  @Test
  void newMemberReceivesNewFlows_removedMembersEstablishedFlowSurvives() throws Exception {
    Discovery d = attach(Duration.ofSeconds(1));
    assertEquals(List.of("127.0.1.1:8080", "127.0.1.2:8080"), ids(lb));
    List<FlowKey> onFirst = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      FlowKey f = flow(nextFlow++);
      if (backendOf(lb.select(f)).equals("127.0.1.1:8080")) {
        onFirst.add(f);
      }
    }
    assertTrue(onFirst.size() > 20, "127.0.1.1 got " + onFirst.size() + " of 200 flows");

    long start = System.nanoTime();
    dns.hosts("127.0.1.1 web.test\n127.0.1.2 web.test\n127.0.1.3 web.test\n");
    long nanos = untilANewFlowGoesTo("127.0.1.3:8080", start);
    assertTrue(nanos < Duration.ofSeconds(1).plus(SLACK).toNanos(), nanos + " ns");

    dns.hosts("127.0.1.2 web.test\n127.0.1.3 web.test\n");
    await(
        Duration.ofSeconds(1).plus(SLACK),
        () -> !ids(lb).contains("127.0.1.1:8080"),
        "127.0.1.1 to leave the pool");
    for (FlowKey f : onFirst) {
      assertEquals("127.0.1.1:8080", backendOf(lb.select(f)), "an established flow moved");
    }
    assertEquals(onFirst.size(), lb.activeFlows("http", "127.0.1.1:8080"));
    for (int i = 0; i < 500; i++) {
      assertNotEquals("127.0.1.1:8080", backendOf(lb.select(flow(nextFlow++))));
    }
    assertEquals(DiscoveryStatus.State.OK, d.status().state());
    assertEquals(0, d.status().failures());
  }

  /**
   * How long from a DNS change (hosts rewritten, SIGHUP sent) to the first new flow on the new
   * member: with the default 1 s floor and dnsmasq's TTL of 1 s, then with TTL 0 and a 100 ms floor
   * to show what the path costs besides the wait for the next resolution.
   */
  @Test
  void measure_dnsChangeToNewFlows() throws Exception {
    Discovery first = attach(Duration.ofSeconds(1));
    List<Long> ttl1 = changes(first, 10, 5);
    Duration bound = Duration.ofSeconds(1).plus(SLACK);
    for (long n : ttl1) {
      assertTrue(n < bound.toNanos(), n + " ns > " + bound);
    }
    print("TTL 1s, floor 1s", ttl1);
    print("TTL 1s, floor 1s: dnsmasq reloaded after", reloads);
    print("TTL 1s, floor 1s: the source answered after", answers);
    print("TTL 1s, floor 1s: from that answer to a new flow", minus(ttl1, answers));
    reloads.clear();
    answers.clear();

    first.close();
    dns.restart(List.of("local=/test/", "local-ttl=0"));
    dns.hosts("127.0.1.1 web.test\n127.0.1.2 web.test\n");
    Discovery second = attach(Duration.ofMillis(100));
    List<Long> ttl0 = changes(second, 20, 5);
    for (long n : ttl0) {
      assertTrue(n < Duration.ofMillis(100).plus(SLACK).toNanos(), n + " ns");
    }
    print("TTL 0, floor 100ms", ttl0);
    print("TTL 0, floor 100ms: dnsmasq reloaded after", reloads);
    print("TTL 0, floor 100ms: the source answered after", answers);
    print("TTL 0, floor 100ms: from that answer to a new flow", minus(ttl0, answers));
  }

  /**
   * Adds members 127.0.1.{from}, ... one at a time, {@code n} of them; returns how long each took
   * to receive a new flow.
   */
  private List<Long> changes(Discovery d, int from, int n) throws Exception {
    List<Long> out = new ArrayList<>();
    StringBuilder hosts = new StringBuilder("127.0.1.1 web.test\n127.0.1.2 web.test\n");
    for (int i = 0; i < n; i++) {
      String ip = "127.0.1." + (from + i);
      hosts.append(ip).append(" web.test\n");
      // a phase against the resolution schedule that differs from change to change
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(137L * (i + 1) % 1000));
      long start = System.nanoTime();
      dns.hosts(hosts.toString());
      long reloaded = System.nanoTime() - start;
      out.add(untilANewFlowGoesTo(ip + ":8080", start));
      reloads.add(reloaded);
      answers.add(firstAnswered.get(ip + ":8080") - start);
    }
    assertEquals(DiscoveryStatus.State.OK, d.status().state());
    return out;
  }

  /**
   * Returns the time from {@code start} (just before the DNS change) until a new flow is selected
   * to {@code id}, trying 16 new flows every 200 µs (and closing those that miss), bounded.
   */
  private long untilANewFlowGoesTo(String id, long start) {
    long deadline = start + Duration.ofSeconds(1).plus(SLACK).plusSeconds(2).toNanos();
    while (true) {
      for (int i = 0; i < 16; i++) {
        FlowKey f = flow(nextFlow++);
        if (backendOf(lb.select(f)).equals(id)) {
          return System.nanoTime() - start;
        }
        lb.flowClosed(f);
      }
      if (System.nanoTime() - deadline > 0) {
        fail("no new flow went to " + id + "; the pool is " + ids(lb));
      }
      LockSupport.parkNanos(TimeUnit.MICROSECONDS.toNanos(200));
    }
  }

  private static List<Long> minus(List<Long> a, List<Long> b) {
    List<Long> out = new ArrayList<>();
    for (int i = 0; i < a.size(); i++) {
      out.add(a.get(i) - b.get(i));
    }
    return out;
  }

  private static void print(String what, List<Long> nanos) {
    System.out.println(
        "[measure] DNS change to new flows, "
            + what
            + ": "
            + nanos.stream().map(n -> String.format(Locale.ROOT, "%.1f ms", n / 1e6)).toList());
  }

  private static void await(Duration timeout, BooleanSupplier condition, String what) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) {
        fail("waited " + timeout + " for " + what);
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(2));
    }
  }
}
