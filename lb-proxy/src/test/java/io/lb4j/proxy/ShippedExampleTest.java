package io.lb4j.proxy;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import ch.qos.logback.classic.Level;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import io.lb4j.HealthEvent;
import io.lb4j.HealthState;
import io.lb4j.LoadBalancer;
import io.lb4j.LoadBalancerListener;
import io.lb4j.netty.AccessLog;
import io.lb4j.netty.LeakRecorder;
import io.lb4j.netty.LogCapture;
import io.lb4j.netty.TestServer;
import java.io.IOException;
import java.io.StringWriter;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The configuration shipped in {@code examples/lb4j-demo.yaml} (an HTTP probe, a load-balancing
 * rule and an inbound NAT rule), run as shipped except for its ports, which are rewritten to ports
 * free here, in front of three HTTP backends on 127.0.0.2-4: every admin route answers 200, the
 * JSON ones with valid JSON, and the CLI commands work against it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ShippedExampleTest {
  private static final Path SHIPPED = Path.of("..", "examples", "lb4j-demo.yaml");
  private static final Duration WAIT = Duration.ofSeconds(10);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final List<HttpServer> backends = new ArrayList<>();
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(WAIT).build();
  private StandaloneProxy proxy;
  private int frontendPort;
  private int natPort;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    int backendPort = startBackends();
    frontendPort = TestServer.freePort("127.0.0.1");
    natPort = TestServer.freePort("127.0.0.1");
    String shipped = Files.readString(SHIPPED);
    String yaml =
        replaceOnce(
            replaceOnce(
                replaceOnce(
                    shipped.replace("backendPort: 8081", "backendPort: " + backendPort),
                    "frontendPort: 8080",
                    "frontendPort: " + frontendPort),
                "frontendPort: 18081",
                "frontendPort: " + natPort),
            "port: 9901",
            "port: 0");
    Path file = dir.resolve("lb4j-demo.yaml");
    Files.writeString(file, yaml + proxySection());
    proxy = StandaloneProxy.start(file);
    awaitHealthy(proxy.proxy().loadBalancer(), "web-1", "web-2", "web-3");
  }

  /** YAML appended to the shipped file: none as shipped; subclasses set the I/O threads. */
  String proxySection() {
    return "";
  }

  @Test
  void frontend_servesHttpFromEveryBackend() throws Exception {
    java.util.Set<String> seen = new java.util.TreeSet<>();
    for (int i = 0; i < 60 && seen.size() < 3; i++) {
      // a new connection per request: 5-tuple hashing spreads them over the backends
      HttpClient fresh = HttpClient.newBuilder().connectTimeout(WAIT).build();
      HttpResponse<String> r =
          fresh.send(
              HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + frontendPort + "/"))
                  .timeout(WAIT)
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertEquals(200, r.statusCode());
      seen.add(r.body().trim());
    }
    assertEquals(
        java.util.Set.of("hello from 127.0.0.2", "hello from 127.0.0.3", "hello from 127.0.0.4"),
        seen);
    HttpResponse<String> nat =
        http.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + natPort + "/"))
                .timeout(WAIT)
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals("hello from 127.0.0.2", nat.body().trim(), "the NAT rule goes to web-1");
  }

  @Test
  void accessLog_onAsShipped_oneLinePerConnection() throws Exception {
    try (LogCapture access = LogCapture.of(AccessLog.LOGGER, Level.INFO)) {
      String answer;
      try (java.net.Socket c = new java.net.Socket("127.0.0.1", natPort)) {
        c.setSoTimeout((int) WAIT.toMillis());
        // HTTP/1.0: the backend answers and closes, so the connection ends and is logged
        c.getOutputStream().write("GET / HTTP/1.0\r\n\r\n".getBytes(UTF_8));
        answer = new String(c.getInputStream().readAllBytes(), UTF_8);
      }
      assertTrue(
          answer.startsWith("HTTP/1.1 200") && answer.contains("hello from 127.0.0.2"), answer);
      String line =
          access.await(
              l -> l.contains(" rule=web-1-direct backend=web-1 "), Duration.ofSeconds(10));
      assertTrue(line.startsWith("client=127.0.0.1:"), line);
      assertTrue(line.contains(" frontend=web listener=127.0.0.1:" + natPort + " "), line);
      assertTrue(line.matches(".* bytes_to_backend=[1-9]\\d* bytes_to_client=[1-9]\\d* .*"), line);
    }
  }

  private static String replaceOnce(String text, String from, String to) {
    assertEquals(1, text.split(java.util.regex.Pattern.quote(from), -1).length - 1, from);
    return text.replace(from, to);
  }

  /** Starts the demo's three HTTP backends on one port of 127.0.0.2-4; returns the port. */
  private int startBackends() throws IOException {
    for (int attempt = 0; attempt < 20; attempt++) {
      HttpServer first = backend("127.0.0.2", 0);
      int port = first.getAddress().getPort();
      List<HttpServer> started = new ArrayList<>(List.of(first));
      try {
        started.add(backend("127.0.0.3", port));
        started.add(backend("127.0.0.4", port));
        backends.addAll(started);
        return port;
      } catch (BindException taken) {
        started.forEach(s -> s.stop(0)); // the port is in use on .3 or .4: another port
      }
    }
    throw new IOException("no port free on 127.0.0.2, .3 and .4 in 20 attempts");
  }

  private static HttpServer backend(String host, int port) throws IOException {
    HttpServer s = HttpServer.create(new InetSocketAddress(InetAddress.getByName(host), port), 50);
    s.createContext(
        "/",
        exchange -> {
          byte[] body = ("hello from " + host + "\n").getBytes(UTF_8);
          exchange.sendResponseHeaders(200, body.length);
          exchange.getResponseBody().write(body);
          exchange.close();
        });
    s.start();
    return s;
  }

  private static void awaitHealthy(LoadBalancer lb, String... ids) throws InterruptedException {
    BlockingQueue<HealthEvent> events = new LinkedBlockingQueue<>();
    lb.addListener(
        new LoadBalancerListener() {
          @Override
          public void onHealthChange(HealthEvent event) {
            events.add(event);
          }
        });
    long deadline = System.nanoTime() + WAIT.toNanos();
    for (String id : ids) {
      while (lb.health("http", id).state() != HealthState.HEALTHY) {
        long left = deadline - System.nanoTime();
        if (left <= 0 || events.poll(left, TimeUnit.NANOSECONDS) == null) {
          fail(id + " not HEALTHY within " + WAIT + ": " + lb.health("http", id));
        }
      }
    }
  }

  @AfterAll
  void stop() {
    if (proxy != null) {
      proxy.close();
    }
    backends.forEach(s -> s.stop(0));
    assertEquals(List.of(), LeakRecorder.collect(), "Netty reported leaked buffers");
  }

  private String admin() {
    return "127.0.0.1:" + proxy.adminAddress().getPort();
  }

  private HttpResponse<String> send(String method, String path) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create("http://" + admin() + path))
            .timeout(WAIT)
            .header("Content-Type", "application/json") // what a state-changing route asks
            .method(method, HttpRequest.BodyPublishers.noBody())
            .build(),
        HttpResponse.BodyHandlers.ofString(UTF_8));
  }

  private String explainPath() {
    return "/explain?src=127.0.0.9:40000&dst=127.0.0.1:" + frontendPort;
  }

  @ParameterizedTest(name = "GET {0}")
  @ValueSource(
      strings = {"/backends", "/rules", "/health", "/diagnose", "/explain", "/reload", "/nope"})
  void jsonRoutes_withTheShippedProbe_answerValidJson(String route) throws Exception {
    String method = route.equals("/reload") ? "POST" : "GET";
    HttpResponse<String> r = send(method, route.equals("/explain") ? explainPath() : route);
    assertEquals(route.equals("/nope") ? 404 : 200, r.statusCode(), r.body());
    assertEquals("application/json", r.headers().firstValue("content-type").orElse(""));
    JsonNode body = JSON.readTree(r.body()); // throws unless valid JSON
    assertTrue(body.isObject() || body.isArray(), r.body());
  }

  @Test
  void backends_withTheShippedProbe_showProbesAndProberStats() throws Exception {
    JsonNode body = JSON.readTree(send("GET", "/backends").body());
    JsonNode rule = body.path("rules").get(0);
    assertEquals("http", rule.path("rule").asText(), body.toString());
    assertEquals("HEALTHY", rule.path("backends").get(0).path("health").asText(), body.toString());
    assertTrue(rule.path("backends").get(0).path("recentProbes").size() > 0, body.toString());
    assertEquals(3, body.path("prober").path("targets").asInt(), body.toString());
  }

  @Test
  void rules_durationsAsWritten() throws Exception {
    JsonNode rules = JSON.readTree(send("GET", "/rules").body());
    assertEquals("4m", rules.get(0).path("idleTimeout").asText(), rules.toString());
    assertEquals("4m", rules.get(1).path("idleTimeout").asText(), rules.toString());
  }

  @ParameterizedTest(name = "GET {0}")
  @ValueSource(strings = {"/", "/report", "/metrics"})
  void pageReportAndMetrics_withTheShippedProbe_answer200(String route) throws Exception {
    HttpResponse<String> r = send("GET", route);
    assertEquals(200, r.statusCode(), r.body());
    assertTrue(r.body().contains("web-3"), r.body());
  }

  @Test
  void cli_reportAndExplain_againstTheShippedExample() {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    assertEquals(
        0, ProxyCli.run(out, err, "report", "--admin", admin(), "--timeout", "5s"), err.toString());
    assertTrue(out.toString().contains("rule http: 127.0.0.1:" + frontendPort), out.toString());
    assertTrue(out.toString().contains("rule web-1-direct:"), out.toString());
    out.getBuffer().setLength(0);
    assertEquals(
        0,
        ProxyCli.run(
            out,
            err,
            "explain",
            "--admin",
            admin(),
            "--src",
            "127.0.0.9:40000",
            "--dst",
            "127.0.0.1:" + frontendPort),
        err.toString());
    assertTrue(out.toString().contains("http"), out.toString());
  }
}
