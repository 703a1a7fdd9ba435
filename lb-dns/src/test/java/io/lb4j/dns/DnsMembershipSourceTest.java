package io.lb4j.dns;

import static io.lb4j.dns.ScriptedDns.a;
import static io.lb4j.dns.ScriptedDns.srv;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lb4j.discovery.Member;
import io.lb4j.discovery.MembershipSource;
import io.lb4j.testing.FakeClock;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Type;

class DnsMembershipSourceTest {
  private static final InetSocketAddress SERVER = new InetSocketAddress("127.0.0.53", 5353);

  private final FakeClock clock = new FakeClock();
  private final ScriptedDns dns = new ScriptedDns();
  private final RecordingListener listener = new RecordingListener();

  private DnsMembershipSource.Builder web() {
    return DnsMembershipSource.builder("web.test")
        .port(8080)
        .server(SERVER)
        .scheduler(clock)
        .querier(dns);
  }

  private void ttl(long seconds) {
    dns.answer("web.test", Type.A, List.of(a("web.test", seconds, "127.10.0.1")));
  }

  @Test
  void start_resolvesOnTheScheduler_notOnTheCallersThread() {
    ttl(30);
    try (DnsMembershipSource source = web().build()) {
      source.start(listener);
      assertEquals(List.of(), dns.takeQueries(), "start() asked on the caller's thread");
      clock.runDueTasks();
      assertEquals(List.of("web.test. A"), dns.takeQueries());
      assertEquals(List.of("members [127.10.0.1:8080 w1]"), listener.take());
    }
  }

  @Test
  void start_ownThread_answersComeOnTheSourcesDaemonThread() {
    ttl(30);
    try (DnsMembershipSource source =
        DnsMembershipSource.builder("web.test").port(8080).server(SERVER).querier(dns).build()) {
      source.start(listener);
      listener.await(1, 5, TimeUnit.SECONDS);
      assertEquals(List.of("lb4j-dns-web.test"), listener.threads());
    }
  }

  @Test
  void answer_nextResolutionAtTheTtl() {
    ttl(30);
    try (DnsMembershipSource source = web().build()) {
      source.start(listener);
      clock.runDueTasks();
      assertEquals(List.of(Duration.ofSeconds(30)), clock.pendingDelays());
      clock.forwardTime(Duration.ofSeconds(30).minusNanos(1));
      assertEquals(1, source.resolutions());
      clock.forwardNanos(1);
      assertEquals(2, source.resolutions());
    }
  }

  @Test
  void answer_ttlZero_resolvesAtTheFloorNotInALoop() {
    ttl(0);
    try (DnsMembershipSource source = web().build()) {
      source.start(listener);
      clock.runDueTasks();
      assertEquals(List.of(Duration.ofSeconds(1)), clock.pendingDelays());
      clock.forwardTime(Duration.ofSeconds(10));
      assertEquals(11, source.resolutions(), "one at start, then one per second");
      assertEquals(11, dns.takeQueries().size());
    }
  }

  @Test
  void answer_ttlZero_customFloor() {
    ttl(0);
    try (DnsMembershipSource source = web().ttlFloor(Duration.ofMillis(250)).build()) {
      source.start(listener);
      clock.runDueTasks();
      assertEquals(List.of(Duration.ofMillis(250)), clock.pendingDelays());
    }
  }

  @Test
  void answer_longTtl_cappedAtFiveMinutes() {
    ttl(86_400);
    try (DnsMembershipSource source = web().build()) {
      source.start(listener);
      clock.runDueTasks();
      assertEquals(List.of(Duration.ofMinutes(5)), clock.pendingDelays());
    }
  }

  @Test
  void answer_maxTtl_cappedWithoutOverflow() {
    ttl(0x7FFF_FFFFL);
    try (DnsMembershipSource source = web().ttlCap(Duration.ofDays(36_500)).build()) {
      source.start(listener);
      clock.runDueTasks();
      assertEquals(List.of(Duration.ofSeconds(0x7FFF_FFFFL)), clock.pendingDelays());
    }
  }

  @Test
  void failures_backOffDoublesUpToRetryMax_thenTheFirstAnswerResetsIt() {
    dns.rcode("web.test", Type.A, Rcode.SERVFAIL);
    try (DnsMembershipSource source = web().build()) {
      source.start(listener);
      clock.runDueTasks();
      List<Duration> delays = new java.util.ArrayList<>();
      for (int i = 0; i < 7; i++) {
        Duration d = clock.pendingDelays().get(0);
        delays.add(d);
        clock.forwardTime(d);
      }
      assertEquals(
          List.of(1L, 2L, 4L, 8L, 16L, 30L, 30L),
          delays.stream().map(Duration::toSeconds).toList());
      List<String> events = listener.take();
      assertEquals(8, events.size());
      assertEquals("failure web.test A via 127.0.0.53:5353: SERVFAIL", events.get(0));
      ttl(60);
      clock.forwardTime(clock.pendingDelays().get(0));
      assertEquals(List.of("members [127.10.0.1:8080 w1]"), listener.take());
      assertEquals(List.of(Duration.ofSeconds(60)), clock.pendingDelays());
      dns.rcode("web.test", Type.A, Rcode.NXDOMAIN);
      clock.forwardTime(Duration.ofSeconds(60));
      assertEquals(List.of(Duration.ofSeconds(1)), clock.pendingDelays(), "back-off restarted");
    }
  }

  @Test
  void failures_retryNeverSoonerThanTheFloor() {
    dns.fail("web.test", Type.A, new IOException("timed out after 2s"));
    try (DnsMembershipSource source =
        web()
            .ttlFloor(Duration.ofSeconds(5))
            .retry(Duration.ofSeconds(1), Duration.ofSeconds(8))
            .build()) {
      source.start(listener);
      clock.runDueTasks();
      assertEquals(List.of(Duration.ofSeconds(5)), clock.pendingDelays());
      clock.forwardTime(Duration.ofSeconds(5));
      assertEquals(List.of(Duration.ofSeconds(5)), clock.pendingDelays()); // 2 s, floored
      clock.forwardTime(Duration.ofSeconds(5));
      assertEquals(List.of(Duration.ofSeconds(5)), clock.pendingDelays()); // 4 s, floored
      clock.forwardTime(Duration.ofSeconds(5));
      assertEquals(List.of(Duration.ofSeconds(8)), clock.pendingDelays());
      assertEquals(
          "failure web.test A via 127.0.0.53:5353: no response (timed out after 2s)",
          listener.take().get(0));
    }
  }

  @Test
  void everyAnswerIsComplete_evenWhenUnchanged() {
    ttl(1);
    try (DnsMembershipSource source = web().build()) {
      source.start(listener);
      clock.runDueTasks();
      clock.forwardTime(Duration.ofSeconds(1));
      dns.answer(
          "web.test",
          Type.A,
          List.of(a("web.test", 1, "127.10.0.1"), a("web.test", 1, "127.10.0.2")));
      clock.forwardTime(Duration.ofSeconds(1));
      assertEquals(
          List.of(
              "members [127.10.0.1:8080 w1]",
              "members [127.10.0.1:8080 w1]",
              "members [127.10.0.1:8080 w1, 127.10.0.2:8080 w1]"),
          listener.take());
    }
  }

  @Test
  void close_cancelsTheNextResolution_noAnswerAfter() {
    ttl(5);
    DnsMembershipSource source = web().build();
    source.start(listener);
    clock.runDueTasks();
    assertEquals(1, clock.pendingTasks());
    source.close();
    assertEquals(0, clock.pendingTasks());
    clock.forwardTime(Duration.ofMinutes(10));
    assertEquals(1, source.resolutions());
    assertEquals(1, listener.take().size());
    source.close(); // idempotent
    assertThrows(IllegalStateException.class, () -> source.start(listener));
  }

  @Test
  void close_whileAQueryIsInFlight_itsAnswerIsDropped() throws InterruptedException {
    CountDownLatch asked = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    DnsQuerier slow =
        (name, type) -> {
          asked.countDown();
          try {
            release.await(10, TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          return dns.query(name, type);
        };
    ttl(5);
    DnsMembershipSource source =
        DnsMembershipSource.builder("web.test").port(80).server(SERVER).querier(slow).build();
    source.start(listener);
    assertTrue(asked.await(5, TimeUnit.SECONDS));
    source.close();
    release.countDown();
    assertEquals(List.of(), listener.take());
  }

  @Test
  void start_twice_refused() {
    ttl(5);
    try (DnsMembershipSource source = web().build()) {
      source.start(listener);
      IllegalStateException e =
          assertThrows(IllegalStateException.class, () -> source.start(listener));
      assertEquals("started already: dns A web.test port 8080 via 127.0.0.53:5353", e.getMessage());
    }
  }

  @Test
  void listenerThrows_resolutionsContinue() {
    ttl(2);
    MembershipSource.Listener throwing =
        new MembershipSource.Listener() {
          int calls;

          @Override
          public void onMembers(List<Member> members) {
            if (calls++ == 0) {
              throw new IllegalStateException("listener bug");
            }
            listener.onMembers(members);
          }

          @Override
          public void onFailure(String reason) {
            listener.onFailure(reason);
          }
        };
    try (DnsMembershipSource source = web().build()) {
      source.start(throwing);
      clock.runDueTasks();
      assertEquals(1, clock.pendingTasks());
      clock.forwardTime(clock.pendingDelays().get(0));
      assertEquals(List.of("members [127.10.0.1:8080 w1]"), listener.take());
    }
  }

  @Test
  void describe_namesRecordNamePortAndServer() {
    assertEquals("dns A web.test port 8080 via 127.0.0.53:5353", web().build().describe());
    assertEquals(
        "dns SRV _http._tcp.web.test via [::1]:5353",
        DnsMembershipSource.builder("_http._tcp.web.test.")
            .record(DnsRecordType.SRV)
            .server(new InetSocketAddress("::1", 5353))
            .build()
            .describe());
  }

  @Test
  void srv_throughTheSource() {
    String svc = "_http._tcp.web.test";
    dns.answer(
        svc, Type.SRV, List.of(srv(svc, 5, 0, 3, 9000, "a.test")), a("a.test", 5, "127.10.0.9"));
    try (DnsMembershipSource source =
        DnsMembershipSource.builder(svc)
            .record(DnsRecordType.SRV)
            .server(SERVER)
            .scheduler(clock)
            .querier(dns)
            .build()) {
      source.start(listener);
      clock.runDueTasks();
      assertEquals(List.of("members [127.10.0.9:9000 w3]"), listener.take());
      assertEquals(List.of(Duration.ofSeconds(5)), clock.pendingDelays());
    }
  }

  @Test
  void builder_refusesWhatCannotWork() {
    assertEquals(
        "port: missing (expected: the members' port, 1-65535, with record A)",
        assertThrows(
                IllegalArgumentException.class,
                () -> DnsMembershipSource.builder("web.test").server(SERVER).build())
            .getMessage());
    assertEquals(
        "port: 80 (expected: none with record SRV: its records give the ports)",
        assertThrows(
                IllegalArgumentException.class,
                () ->
                    DnsMembershipSource.builder("_x._tcp.web.test")
                        .record(DnsRecordType.SRV)
                        .port(80)
                        .server(SERVER)
                        .build())
            .getMessage());
    assertEquals(
        "ttlCap: 500ms (expected: >= ttlFloor, 1s)",
        assertThrows(
                IllegalArgumentException.class, () -> web().ttlCap(Duration.ofMillis(500)).build())
            .getMessage());
    assertEquals(
        "retryMax: 1s (expected: >= retryBase, 2s)",
        assertThrows(
                IllegalArgumentException.class,
                () -> web().retry(Duration.ofSeconds(2), Duration.ofSeconds(1)).build())
            .getMessage());
    assertEquals(
        "timeout: 0s (expected: > 0)",
        assertThrows(IllegalArgumentException.class, () -> web().timeout(Duration.ZERO))
            .getMessage());
    assertEquals(
        "port: 0 (expected: 1-65535)",
        assertThrows(IllegalArgumentException.class, () -> web().port(0)).getMessage());
    assertEquals(
        "name: '127.10.0.1' is an IP address (expected: a DNS name such as web.example or"
            + " _http._tcp.web.example; a fixed address belongs in the pool's backends)",
        assertThrows(
                IllegalArgumentException.class, () -> DnsMembershipSource.builder("127.10.0.1"))
            .getMessage());
    assertTrue(
        assertThrows(IllegalArgumentException.class, () -> DnsMembershipSource.builder("a..b"))
            .getMessage()
            .startsWith("name: 'a..b' (expected: a DNS name"));
    assertThrows(
        IllegalArgumentException.class,
        () -> web().server(InetSocketAddress.createUnresolved("dns.example", 53)));
  }
}
