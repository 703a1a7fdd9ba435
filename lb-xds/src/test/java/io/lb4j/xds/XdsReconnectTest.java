package io.lb4j.xds;

import static io.lb4j.xds.XdsTestServer.assignment;
import static io.lb4j.xds.XdsTestServer.endpoint;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Time-driven behaviour with fake delays, against a real management server: the reconnect back-off
 * grows 1.6 times within ±20% to its cap while the server is down and starts over once a stream
 * received a response; a server that re-sends a refused version at once gets its repeated NACK only
 * when the delay has passed.
 */
class XdsReconnectTest {
  static final Duration WAIT = Duration.ofSeconds(10);

  private final FakeDelays delays = new FakeDelays();
  private XdsTestServer server;
  private Recorded source;

  @BeforeEach
  void start() {
    server = new XdsTestServer("127.0.0.3");
    source =
        new Recorded(
            XdsMembershipSource.builder(server.address(), "web")
                .backoff(Duration.ofMillis(500), Duration.ofSeconds(30))
                .delays(delays)
                .random(new Random(15))
                .build());
  }

  @AfterEach
  void stop() {
    source.close();
    server.close();
  }

  private static final MembershipListener NONE = new MembershipListener();

  @Test
  void serverDown_backoffGrowsToTheCap_thenStartsOverAfterAResponse() throws Exception {
    server.serve("v1", assignment("web", endpoint("127.0.0.11", 8080)));
    server.stop();
    source.start(NONE);
    double base = 500;
    for (int attempt = 0; attempt < 12; attempt++) {
      String failure = source.nextFailure(WAIT);
      assertTrue(failure.contains("lost: UNAVAILABLE"), failure);
      FakeDelays.Pending p = delays.next(WAIT);
      long ms = p.delay().toMillis();
      double lo = Math.min(base, 30_000) * 0.8 - 1;
      double hi = Math.min(base * 1.2, 30_000);
      assertTrue(ms >= lo && ms <= hi, "attempt " + attempt + ": " + ms + "ms, base " + base);
      base = Math.min(base * 1.6, 30_000);
      if (attempt == 11) {
        assertTrue(ms >= 24_000, "capped near 30 s: " + ms + "ms");
        server.restart();
      }
      p.run();
    }
    assertEquals(1, source.nextMembers(WAIT).size(), "updates resume once the server is back");

    server.stop();
    source.nextFailure(WAIT);
    long again = delays.next(WAIT).delay().toMillis();
    assertTrue(again >= 399 && again <= 600, "back to the initial delay: " + again + "ms");
  }

  @Test
  void refusedVersionResent_repeatedNackWaitsForTheDelay() throws Exception {
    server.serve("v1", assignment("web", endpoint("127.0.0.11", 8080)));
    source.start(NONE);
    source.nextMembers(WAIT);
    server.serve("v2", assignment("web", endpoint("db.internal", 5432)));

    DiscoveryRequest first = server.nextRequest(DiscoveryRequest::hasErrorDetail, WAIT);
    assertEquals("v1", first.getVersionInfo());
    // java-control-plane answers a NACK of v2 with v2 again, at once: the next NACK waits
    FakeDelays.Pending renack = delays.next(WAIT);
    assertTrue(
        renack.delay().toMillis() >= 399 && renack.delay().toMillis() <= 600,
        renack.delay().toString());
    assertNull(
        server.requests.poll(300, TimeUnit.MILLISECONDS), "nothing sent before the delay passed");
    renack.run();
    DiscoveryRequest second = server.nextRequest(DiscoveryRequest::hasErrorDetail, WAIT);
    assertEquals(first.getErrorDetail(), second.getErrorDetail());
    long next = delays.next(WAIT).delay().toMillis();
    assertTrue(next >= 639 && next <= 960, "the delay grows: " + next + "ms");
  }
}
