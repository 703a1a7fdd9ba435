package io.lb4j.core.health;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lb4j.HealthProbe;
import io.lb4j.ProbeOutcome;
import io.lb4j.ProbeProtocol;
import io.lb4j.ProbeResult;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The checker against real sockets on loopback addresses only. */
class NioHealthCheckerTest {
  /** The probe timeout where a test waits for it to run out: short, so the test is quick. */
  private static final Duration TIMEOUT = Duration.ofMillis(400);

  /**
   * The probe timeout where a test expects success: a pass returns at once, so a long timeout costs
   * nothing and keeps a loaded machine (a cold JVM's first TLS handshake) from failing it.
   */
  private static final Duration PASS_TIMEOUT = Duration.ofSeconds(4);

  private final NioHealthChecker checker = new NioHealthChecker();
  private final LoopbackServers servers = new LoopbackServers();

  @AfterEach
  void tearDown() throws Exception {
    checker.close();
    servers.close();
  }

  private static HealthProbe tcp() {
    return HealthProbe.builder("tcp").timeout(TIMEOUT).build();
  }

  private static HealthProbe.Builder http(ProbeProtocol protocol) {
    return HealthProbe.builder("http").protocol(protocol).path("/healthz").timeout(TIMEOUT);
  }

  private ProbeResult probe(InetSocketAddress target, HealthProbe probe) throws Exception {
    return checker.check(target, probe).toCompletableFuture().get(5, SECONDS);
  }

  @Test
  void tcp_listeningPort_succeedsAndClosesWithFin() throws Exception {
    LoopbackServers.Server server = servers.plain("127.0.0.2", LoopbackServers.READ_TO_END);
    ProbeResult r = probe(server.address, tcp().toBuilder().timeout(PASS_TIMEOUT).build());
    assertEquals(ProbeOutcome.SUCCESS, r.outcome(), r.toString());
    LoopbackServers.Seen seen = server.seen.poll(5, SECONDS);
    assertNotNull(seen, "the server saw no connection");
    assertNull(seen.error(), "the probe's close was not clean: " + seen.error());
    assertTrue(seen.endOfStream(), "the server read no end of stream (FIN)");
  }

  @Test
  void tcp_closedPort_isRefused() throws Exception {
    InetSocketAddress closed = LoopbackServers.closedPort("127.0.0.3");
    ProbeResult r = probe(closed, tcp());
    assertEquals(ProbeOutcome.REFUSED, r.outcome(), r.toString());
    assertEquals(
        "connection refused: nothing listens on 127.0.0.3:" + closed.getPort(), r.detail());
  }

  @Test
  void tcp_fullAcceptBacklog_timesOut() throws Exception {
    // A listener that never accepts, with its backlog filled: the kernel drops further SYNs.
    ServerSocket ss = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.4"));
    servers.keep(ss);
    InetSocketAddress target = new InetSocketAddress(ss.getInetAddress(), ss.getLocalPort());
    for (int i = 0; i < 8; i++) {
      SocketChannel filler = SocketChannel.open();
      filler.configureBlocking(false);
      filler.connect(target);
      servers.keep(filler);
    }
    ProbeResult r = probe(target, tcp());
    assertEquals(ProbeOutcome.TIMEOUT, r.outcome(), r.toString());
    assertTrue(r.detail().startsWith("no answer to connect"), r.detail());
    assertTrue(r.latency().compareTo(TIMEOUT) >= 0, "timed out early: " + r.latency());
  }

  @Test
  void http_200_succeedsWithHostHeader() throws Exception {
    LoopbackServers.Server server =
        servers.plain(
            "127.0.0.2", LoopbackServers.respond("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
    ProbeResult r = probe(server.address, http(ProbeProtocol.HTTP).timeout(PASS_TIMEOUT).build());
    assertEquals(ProbeOutcome.SUCCESS, r.outcome(), r.toString());
    assertEquals("HTTP 200", r.detail());
    String head = server.seen.poll(5, SECONDS).requestHead();
    assertTrue(head.startsWith("GET /healthz HTTP/1.1\r\n"), head);
    assertTrue(head.contains("\r\nHost: 127.0.0.2:" + server.address.getPort() + "\r\n"), head);
    assertTrue(head.contains("\r\nConnection: close\r\n"), head);
  }

  @Test
  void http_configuredHost_isSentAsHostHeader() throws Exception {
    LoopbackServers.Server server =
        servers.plain("127.0.0.2", LoopbackServers.respond("HTTP/1.0 204 No Content\r\n\r\n"));
    ProbeResult r =
        probe(
            server.address,
            http(ProbeProtocol.HTTP)
                .host("web.example")
                .expectedStatuses("200-299")
                .timeout(PASS_TIMEOUT)
                .build());
    assertEquals(ProbeOutcome.SUCCESS, r.outcome(), r.toString());
    String head = server.seen.poll(5, SECONDS).requestHead();
    assertTrue(head.contains("\r\nHost: web.example:" + server.address.getPort() + "\r\n"), head);
  }

  @Test
  void http_503_isUnexpectedStatus() throws Exception {
    LoopbackServers.Server server =
        servers.plain(
            "127.0.0.2",
            LoopbackServers.respond(
                "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"));
    ProbeResult r = probe(server.address, http(ProbeProtocol.HTTP).build());
    assertEquals(ProbeOutcome.UNEXPECTED_STATUS, r.outcome(), r.toString());
    assertEquals("HTTP 503 (expected: 200)", r.detail());
  }

  @Test
  void http_garbage_isMalformed() throws Exception {
    LoopbackServers.Server server =
        servers.plain("127.0.0.2", LoopbackServers.respond("SSH-2.0-OpenSSH_9.2\r\n"));
    ProbeResult r = probe(server.address, http(ProbeProtocol.HTTP).build());
    assertEquals(ProbeOutcome.MALFORMED_RESPONSE, r.outcome(), r.toString());
    assertEquals("not HTTP: 'SSH-2.0-OpenSSH_9.2..'", r.detail());
  }

  @Test
  void http_badStatusLine_isMalformed() throws Exception {
    LoopbackServers.Server server =
        servers.plain("127.0.0.2", LoopbackServers.respond("HTTP/1.1 OK\r\n\r\n"));
    ProbeResult r = probe(server.address, http(ProbeProtocol.HTTP).build());
    assertEquals(ProbeOutcome.MALFORMED_RESPONSE, r.outcome(), r.toString());
  }

  @Test
  void http_closeBeforeResponse_isEarlyClose() throws Exception {
    LoopbackServers.Server server = servers.plain("127.0.0.2", LoopbackServers.CLOSE_AT_ONCE);
    ProbeResult r = probe(server.address, http(ProbeProtocol.HTTP).build());
    assertEquals(ProbeOutcome.EARLY_CLOSE, r.outcome(), r.toString());
  }

  @Test
  void http_serverNeverAnswers_timesOut() throws Exception {
    LoopbackServers.Server server = servers.plain("127.0.0.2", LoopbackServers.SILENT);
    ProbeResult r = probe(server.address, http(ProbeProtocol.HTTP).build());
    assertEquals(ProbeOutcome.TIMEOUT, r.outcome(), r.toString());
    assertTrue(r.detail().startsWith("no HTTP status line within 400 ms"), r.detail());
  }

  @Test
  void http_closedPort_isRefused() throws Exception {
    ProbeResult r =
        probe(LoopbackServers.closedPort("127.0.0.2"), http(ProbeProtocol.HTTP).build());
    assertEquals(ProbeOutcome.REFUSED, r.outcome(), r.toString());
  }

  @Test
  void https_selfSignedCertificate_succeedsAndSendsSni() throws Exception {
    LoopbackServers.Server server =
        servers.tls(
            "127.0.0.5",
            LoopbackServers.respond("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"));
    ProbeResult r =
        probe(
            server.address,
            http(ProbeProtocol.HTTPS).host("api.example").timeout(PASS_TIMEOUT).build());
    assertEquals(ProbeOutcome.SUCCESS, r.outcome(), r.toString());
    LoopbackServers.Seen seen = server.seen.poll(5, SECONDS);
    assertEquals(List.of("api.example"), seen.serverNames());
    assertTrue(seen.requestHead().startsWith("GET /healthz HTTP/1.1\r\n"), seen.requestHead());
  }

  @Test
  void https_503_isUnexpectedStatus() throws Exception {
    LoopbackServers.Server server =
        servers.tls(
            "127.0.0.5", LoopbackServers.respond("HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n"));
    ProbeResult r = probe(server.address, http(ProbeProtocol.HTTPS).build());
    assertEquals(ProbeOutcome.UNEXPECTED_STATUS, r.outcome(), r.toString());
  }

  @Test
  void https_plainServer_isTlsError() throws Exception {
    // A plain server that speaks first: its bytes are no TLS record.
    LoopbackServers.Server server =
        servers.plain("127.0.0.2", LoopbackServers.greet("220 smtp.example ESMTP ready\r\n"));
    ProbeResult r = probe(server.address, http(ProbeProtocol.HTTPS).build());
    assertEquals(ProbeOutcome.TLS_ERROR, r.outcome(), r.toString());
    assertTrue(r.detail().startsWith("TLS: "), r.detail());
  }

  @Test
  void check_manyTargetsAtOnce_allAnswered() throws Exception {
    LoopbackServers.Server up =
        servers.plain("127.0.0.2", LoopbackServers.respond("HTTP/1.1 200 OK\r\n\r\n"));
    InetSocketAddress down = LoopbackServers.closedPort("127.0.0.6");
    List<java.util.concurrent.CompletableFuture<ProbeResult>> futures = new java.util.ArrayList<>();
    for (int i = 0; i < 40; i++) {
      futures.add(
          checker
              .check(
                  i % 2 == 0 ? up.address : down,
                  i % 4 < 2 ? http(ProbeProtocol.HTTP).build() : tcp())
              .toCompletableFuture());
    }
    for (int i = 0; i < futures.size(); i++) {
      ProbeOutcome expected = i % 2 == 0 ? ProbeOutcome.SUCCESS : ProbeOutcome.REFUSED;
      assertEquals(expected, futures.get(i).get(5, SECONDS).outcome(), "probe " + i);
    }
  }
}
