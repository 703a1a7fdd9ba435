package io.lb4j.proxy;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lb4j.HealthOverride;
import io.lb4j.netty.LeakRecorder;
import io.lb4j.netty.TestServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code GET /ready} of a real {@link StandaloneProxy} run from a YAML file: 503 naming the rule
 * while its only backend is out of rotation (probe failing, or forced down), 200 once it is back,
 * 503 while the proxy drains at shutdown; {@code GET /health} stays 200 throughout.
 */
class ReadinessTest {
  private static final long WAIT_NANOS = TimeUnit.SECONDS.toNanos(10);

  @TempDir Path dir;
  private final List<TestServer> servers = new ArrayList<>();

  @AfterAll
  static void noLeaks() {
    assertEquals(List.of(), LeakRecorder.collect(), "Netty reported leaked buffers");
  }

  @AfterEach
  void tearDown() throws IOException {
    for (TestServer s : servers) {
      s.close();
    }
  }

  /** One backend on 127.0.0.2 behind rule {@code app}, optionally probed every 100 ms. */
  private Path file(TestServer backend, boolean probe) throws IOException {
    int port = TestServer.freePort("127.0.0.1");
    String yaml =
        "frontends:\n  - { name: web, address: 127.0.0.1 }\n"
            + "backendPools:\n  - name: web\n    backends:\n"
            + "      - { id: web-0, address: 127.0.0.2, port: "
            + backend.address.getPort()
            + " }\n"
            + (probe
                ? "probes:\n  - { name: tcp, interval: 100ms, timeout: 100ms,"
                    + " healthyThreshold: 1, unhealthyThreshold: 1, jitterPercent: 0 }\n"
                : "")
            + "loadBalancingRules:\n  - { name: app, frontend: web, frontendPort: "
            + port
            + ", backendPool: web"
            + (probe ? ", probe: tcp" : "")
            + " }\n"
            + "admin: { port: 0 }\nshutdown: { drainTimeout: 20s }\n";
    Path file = dir.resolve("lb.yaml");
    Files.writeString(file, yaml);
    return file;
  }

  private TestServer backend() throws IOException {
    TestServer s = new TestServer("web-0", "127.0.0.2", TestServer.Mode.GREET_THEN_ECHO);
    servers.add(s);
    return s;
  }

  /** An answer: status code and body. */
  record Answer(int status, String contentType, String body) {}

  static Answer get(InetSocketAddress admin, String path, String accept) throws IOException {
    try (Socket s = new Socket(admin.getAddress(), admin.getPort())) {
      s.setSoTimeout(10_000);
      s.getOutputStream()
          .write(
              ("GET "
                      + path
                      + " HTTP/1.1\r\nHost: 127.0.0.1:"
                      + admin.getPort()
                      + (accept == null ? "" : "\r\nAccept: " + accept)
                      + "\r\n\r\n")
                  .getBytes(US_ASCII));
      String raw = new String(s.getInputStream().readAllBytes(), US_ASCII);
      int status = Integer.parseInt(raw.substring(9, 12));
      int end = raw.indexOf("\r\n\r\n");
      String type = "";
      for (String line : raw.substring(0, end).split("\r\n")) {
        if (line.toLowerCase().startsWith("content-type:")) {
          type = line.substring("content-type:".length()).strip();
        }
      }
      return new Answer(status, type, raw.substring(end + 4));
    }
  }

  /** Polls {@code /ready} until it answers {@code status}; fails after 10 s. */
  static Answer awaitReady(InetSocketAddress admin, int status) throws Exception {
    long deadline = System.nanoTime() + WAIT_NANOS;
    Answer last;
    do {
      last = get(admin, "/ready", null);
      if (last.status() == status) {
        return last;
      }
      TimeUnit.MILLISECONDS.sleep(20);
    } while (System.nanoTime() < deadline);
    fail("/ready not " + status + " within 10 s: " + last);
    return last;
  }

  @Test
  void ready_forcedDown_503NamingTheRule_json_healthStays200_thenBack200() throws Exception {
    TestServer backend = backend();
    try (StandaloneProxy p = StandaloneProxy.start(file(backend, false))) {
      InetSocketAddress admin = p.adminAddress();
      Answer ok = get(admin, "/ready", null);
      assertEquals(200, ok.status(), ok.body());
      assertEquals("ready\n", ok.body());
      assertTrue(ok.contentType().startsWith("text/plain"), ok.contentType());

      p.proxy().loadBalancer().setHealthOverride("web", "web-0", HealthOverride.FORCE_DOWN);
      Answer down = get(admin, "/ready", null);
      assertEquals(503, down.status(), down.body());
      assertEquals("rule app: 0 of 1 backends in rotation (web-0 FORCE_DOWN)\n", down.body());
      Answer json = get(admin, "/ready", "text/html, application/json;q=0.9");
      assertEquals(503, json.status(), json.body());
      assertEquals("application/json", json.contentType());
      JsonNode body = new ObjectMapper().readTree(json.body());
      assertFalse(body.path("ready").asBoolean(true), json.body());
      assertFalse(body.path("draining").asBoolean(true), json.body());
      assertEquals(
          "rule app: 0 of 1 backends in rotation (web-0 FORCE_DOWN)",
          body.path("reasons").path(0).asText(),
          json.body());
      Answer health = get(admin, "/health", null);
      assertEquals(200, health.status(), "liveness is not readiness: " + health.body());

      p.proxy().loadBalancer().setHealthOverride("web", "web-0", HealthOverride.FOLLOW_PROBE);
      Answer back = get(admin, "/ready", "application/json");
      assertEquals(200, back.status(), back.body());
      assertTrue(new ObjectMapper().readTree(back.body()).path("ready").asBoolean(), back.body());
    }
  }

  @Test
  void ready_probeFailing_503_thenBackendBack_200() throws Exception {
    TestServer backend = backend();
    int backendPort = backend.address.getPort();
    try (StandaloneProxy p = StandaloneProxy.start(file(backend, true))) {
      InetSocketAddress admin = p.adminAddress();
      awaitReady(admin, 200);
      backend.kill();
      Answer down = awaitReady(admin, 503);
      assertEquals("rule app: 0 of 1 backends in rotation (web-0 UNHEALTHY)\n", down.body());
      assertEquals(200, get(admin, "/health", null).status(), "every backend down: still live");
      servers.add(
          new TestServer("web-0", "127.0.0.2", backendPort, TestServer.Mode.GREET_THEN_ECHO));
      assertEquals("ready\n", awaitReady(admin, 200).body());
    }
  }

  @Test
  void ready_whileDrainingAtShutdown_503_healthStays200_reloadRefused() throws Exception {
    TestServer backend = backend();
    Path file = file(backend, false);
    StandaloneProxy p = StandaloneProxy.start(file);
    InetSocketAddress admin = p.adminAddress();
    InetSocketAddress frontend = p.proxy().listeners().get("app");
    CompletableFuture<Integer> shutdown;
    try (Socket held = new Socket(frontend.getAddress(), frontend.getPort())) {
      held.setSoTimeout(10_000);
      assertEquals("web-0", TestServer.readLine(held.getInputStream()));
      assertEquals(200, get(admin, "/ready", null).status());

      shutdown = CompletableFuture.supplyAsync(p::shutdown);
      Answer draining = awaitReady(admin, 503);
      assertTrue(draining.body().startsWith("draining: "), draining.body());
      Answer json = get(admin, "/ready", "application/json");
      assertTrue(
          new ObjectMapper().readTree(json.body()).path("draining").asBoolean(), json.body());
      assertEquals(200, get(admin, "/health", null).status(), "live while it drains");
      assertTrue(p.draining());
      assertTrue(p.reload().startsWith("shutting down"), "no listener binds while it drains");
      assertFalse(shutdown.isDone(), "the held connection keeps the drain going");
    }
    assertEquals(0, shutdown.get(10, TimeUnit.SECONDS), "the held connection finished in time");
    try (Socket s = new Socket()) {
      s.connect(admin, 1000);
      fail("the admin endpoint closes once the drain is over");
    } catch (IOException expected) {
      // refused
    }
  }
}
