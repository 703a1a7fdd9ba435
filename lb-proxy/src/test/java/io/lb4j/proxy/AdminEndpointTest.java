package io.lb4j.proxy;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lb4j.HealthEvent;
import io.lb4j.HealthProbe;
import io.lb4j.HealthState;
import io.lb4j.LoadBalancerListener;
import io.lb4j.netty.LeakRecorder;
import io.lb4j.netty.ProxyFixture;
import io.lb4j.netty.TestServer;
import java.io.File;
import java.io.IOException;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
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
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.opentest4j.AssertionFailedError;
import org.opentest4j.TestAbortedException;

/**
 * The admin routes of diagnosis (page, report, diagnose, explain, metrics) and the CLI commands
 * over them, against one live setup: three backends, one dead, two open connections. The page is
 * loaded in headless Chromium (Debian's {@code chromium} package): missing, the page test fails
 * under CI and skips, with the reason, elsewhere.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AdminEndpointTest {
  private static final Duration WAIT = Duration.ofSeconds(10);

  private ProxyFixture f;
  private AdminServer admin;
  private final List<Socket> clients = new ArrayList<>();
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(WAIT).build();

  @BeforeAll
  void start() throws Exception {
    f =
        new ProxyFixture(
            3,
            TestServer.Mode.GREET_THEN_ECHO,
            r -> r.probe("tcp"),
            c ->
                c.probe(
                    HealthProbe.builder("tcp")
                        .interval(Duration.ofMillis(100))
                        .timeout(Duration.ofMillis(100))
                        .healthyThreshold(1)
                        .unhealthyThreshold(1)
                        .jitterPercent(0)
                        .build()),
            p -> p);
    BlockingQueue<HealthEvent> events = new LinkedBlockingQueue<>();
    f.lb.addListener(
        new LoadBalancerListener() {
          @Override
          public void onHealthChange(HealthEvent event) {
            events.add(event);
          }
        });
    awaitState(events, "web-0", HealthState.HEALTHY);
    awaitState(events, "web-1", HealthState.HEALTHY);
    f.servers.get(2).kill();
    awaitState(events, "web-2", HealthState.UNHEALTHY);
    for (int i = 0; i < 2; i++) {
      Socket s = new Socket();
      s.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.7" + i), 0));
      s.setSoTimeout((int) WAIT.toMillis());
      s.connect(f.frontend, (int) WAIT.toMillis());
      TestServer.readLine(s.getInputStream());
      clients.add(s);
    }
    admin =
        new AdminServer(
            f.proxy, () -> null, AdminOptions.at(new InetSocketAddress("127.0.0.1", 0)));
  }

  private void awaitState(BlockingQueue<HealthEvent> events, String backend, HealthState state)
      throws InterruptedException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (f.lb.health("app", backend).state() != state) {
      long left = deadline - System.nanoTime();
      if (left <= 0 || events.poll(left, TimeUnit.NANOSECONDS) == null) {
        fail(backend + " not " + state + " within " + WAIT);
      }
    }
  }

  @AfterAll
  void stop() throws IOException {
    for (Socket s : clients) {
      s.close();
    }
    if (admin != null) {
      admin.close();
    }
    f.close();
    assertEquals(List.of(), LeakRecorder.collect(), "Netty reported leaked buffers");
  }

  private String endpoint() {
    return "127.0.0.1:" + admin.address().getPort();
  }

  private HttpResponse<String> get(String path) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create("http://" + endpoint() + path)).timeout(WAIT).build(),
        HttpResponse.BodyHandlers.ofString(UTF_8));
  }

  @Test
  void diagnose_json_namesTheDeadBackend() throws Exception {
    HttpResponse<String> r = get("/diagnose");
    assertEquals(200, r.statusCode());
    assertEquals("application/json", r.headers().firstValue("content-type").orElse(""));
    assertTrue(r.body().contains("\"check\" : \"PROBE_FAILING\""), r.body());
    assertTrue(r.body().contains("\"backend\" : \"web-2\""), r.body());
  }

  @Test
  void explain_json_andBadInputNamedWithExpectation() throws Exception {
    HttpResponse<String> ok =
        get("/explain?src=127.0.0.9:40000&dst=127.0.0.1:" + f.frontend.getPort());
    assertEquals(200, ok.statusCode(), ok.body());
    assertTrue(ok.body().contains("\"rule\" : \"app\""), ok.body());
    assertTrue(ok.body().contains("\"excluded\" : \"UNHEALTHY\""), ok.body());
    HttpResponse<String> bad = get("/explain?src=127.0.0.999:1&dst=127.0.0.1:80");
    assertEquals(400, bad.statusCode());
    assertTrue(
        bad.body()
            .contains(
                "src: '127.0.0.999:1' (expected: an IP literal and port such as"
                    + " 127.0.0.9:40000 or [::1]:40000)"),
        bad.body());
    HttpResponse<String> proto = get("/explain?src=127.0.0.9:1&dst=127.0.0.1:80&protocol=sctp");
    assertTrue(proto.body().contains("protocol: 'sctp' (expected: tcp or udp)"), proto.body());
  }

  /** Throws {@code t} whatever its type, as code that rethrows a checked exception undeclared. */
  @SuppressWarnings("unchecked")
  private static <T extends Throwable> RuntimeException sneaky(Throwable t) throws T {
    throw (T) t;
  }

  /**
   * Whatever a reload throws (unchecked, checked and undeclared, an Error) is answered 400 with the
   * reason as valid JSON: never a dead handler thread and a client left without an answer.
   */
  @Test
  void reload_throwsAnything_answers400WithValidJsonNamingTheReason() throws Exception {
    String message = "boom: \"quoted\" \\ back\nslash";
    List<Throwable> failures =
        List.of(
            new IllegalStateException(message),
            new IOException(message),
            new StackOverflowError(message),
            new NullPointerException());
    for (Throwable failure : failures) {
      try (AdminServer failing =
          new AdminServer(
              f.proxy,
              () -> {
                throw sneaky(failure);
              },
              AdminOptions.at(new InetSocketAddress("127.0.0.1", 0)))) {
        HttpResponse<String> r =
            http.send(
                HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + failing.address().getPort() + "/reload"))
                    .timeout(WAIT)
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.noBody())
                    .build(),
                HttpResponse.BodyHandlers.ofString(UTF_8));
        assertEquals(400, r.statusCode(), failure + ": " + r.body());
        assertEquals("application/json", r.headers().firstValue("content-type").orElse(""));
        JsonNode body = new ObjectMapper().readTree(r.body());
        assertFalse(body.path("reloaded").asBoolean(true), r.body());
        assertEquals(
            failure.getMessage() == null ? failure.toString() : failure.getMessage(),
            body.path("error").asText(),
            r.body());
      }
    }
  }

  @Test
  void errorJson_escapesQuotesBackslashesAndControlCharacters() throws Exception {
    String message = "\"a\" \\ b\n\tc \u0001";
    assertEquals(
        message,
        new ObjectMapper().readTree(AdminServer.errorJson(message)).path("error").asText());
  }

  @Test
  void metrics_prometheusTextWithConventionalNames() throws Exception {
    HttpResponse<String> r = get("/metrics");
    assertEquals(200, r.statusCode());
    assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("text/plain"));
    String body = r.body();
    assertTrue(body.contains("# TYPE lb4j_connections_total counter"), body);
    assertTrue(body.contains("# TYPE lb4j_relayed_bytes_total counter"), body);
    assertTrue(body.contains("lb4j_backend_healthy{backend=\"web-2\",rule=\"app\"} 0.0"), body);
    assertTrue(body.contains("lb4j_backend_healthy{backend=\"web-0\",rule=\"app\"} 1.0"), body);
    Matcher active =
        Pattern.compile("lb4j_flows_active\\{backend=\"web-\\d\",rule=\"app\"} (\\d+)\\.0")
            .matcher(body);
    int flows = 0;
    while (active.find()) {
      flows += Integer.parseInt(active.group(1));
    }
    assertEquals(2, flows, body);
    assertTrue(body.contains("jvm_memory_used_bytes"), "Micrometer's JVM meters");
    assertTrue(
        body.contains("lb4j_frontend_refusals_total{reason=\"deny_list\",rule=\"app\"} 0.0"), body);
    assertTrue(
        body.contains("lb4j_source_port_failures_total{backend=\"web-0\",rule=\"app\"} 0.0"), body);
  }

  @Test
  void report_textAndCliCommands() throws Exception {
    HttpResponse<String> r = get("/report");
    assertTrue(r.body().startsWith("lb4j report for 127.0.0.1:"), r.body());
    assertTrue(r.body().contains("CRITICAL PROBE_FAILING rule app backend web-2"), r.body());
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    assertEquals(0, ProxyCli.run(out, err, "report", "--admin", endpoint()), err.toString());
    assertTrue(
        out.toString().contains("rule app: 127.0.0.1:" + f.frontend.getPort()), out.toString());
    assertTrue(out.toString().contains("web-2"), out.toString());
    out.getBuffer().setLength(0);
    assertEquals(
        0,
        ProxyCli.run(
            out,
            err,
            "explain",
            "--admin",
            endpoint(),
            "--src",
            "127.0.0.9:40000",
            "--dst",
            "127.0.0.1:" + f.frontend.getPort()),
        err.toString());
    assertTrue(out.toString().contains("left out: web-2 UNHEALTHY"), out.toString());
    int closed = TestServer.freePort("127.0.0.1");
    err.getBuffer().setLength(0);
    assertEquals(
        ProxyMain.RUNTIME_ERROR,
        ProxyCli.run(out, err, "report", "--admin", "127.0.0.1:" + closed));
    assertTrue(err.toString().contains("cannot reach the admin endpoint"), err.toString());
    err.getBuffer().setLength(0);
    assertEquals(
        ProxyMain.CONFIG_ERROR,
        ProxyCli.run(out, err, "report", "--admin", endpoint(), "--timeout", "5 seconds"));
    assertTrue(
        err.toString()
            .contains(
                "Invalid value for option '--timeout': '5 seconds' (expected: a duration such as"
                    + " 250ms, 5s, 4m, 1h, 1d or PT5S)"),
        err.toString());
  }

  /** Returns the Chromium on PATH, or null. */
  static Path chromium() {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
      for (String name : List.of("chromium", "chromium-browser", "google-chrome")) {
        Path p = Path.of(dir, name);
        if (Files.isExecutable(p)) {
          return p;
        }
      }
    }
    return null;
  }

  /**
   * Returns {@code browser}; without one, fails under CI (the environment variable {@code CI} set:
   * {@code .ci/run} installs Chromium, so a CI run never passes without loading the page) and skips
   * with the reason elsewhere.
   */
  static Path requireBrowser(Path browser, String ci) {
    String missing =
        "Chromium is not installed (Debian: apt-get install -y chromium; .ci/run installs it);"
            + " the admin page test needs it to load the page";
    if (browser == null && ci != null) {
      fail("CI is set and " + missing);
    }
    Assumptions.assumeTrue(browser != null, missing);
    return browser;
  }

  @Test
  void requireBrowser_missing_failsUnderCiAndSkipsElsewhere() {
    Path found = Path.of("/usr/bin/chromium");
    assertEquals(found, requireBrowser(found, "true"));
    assertEquals(found, requireBrowser(found, null));
    assertThrows(AssertionFailedError.class, () -> requireBrowser(null, "true"));
    assertThrows(TestAbortedException.class, () -> requireBrowser(null, null));
  }

  /**
   * Loads {@code url} in headless {@code browser} with a fresh profile under {@code tmp}, lets it
   * settle, and returns the DOM as Chromium leaves it; fails after 45 s.
   */
  static String dumpDom(Path browser, Path tmp, String url) throws Exception {
    Path profile = tmp.resolve("profile"); // fresh: no state from an earlier run
    Path dump = tmp.resolve("dom.html");
    Process p =
        new ProcessBuilder(
                browser.toString(),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--user-data-dir=" + profile,
                "--virtual-time-budget=3000",
                "--dump-dom",
                url)
            .redirectOutput(dump.toFile())
            .redirectError(tmp.resolve("stderr.txt").toFile())
            .start();
    if (!p.waitFor(45, TimeUnit.SECONDS)) {
      p.toHandle().destroyForcibly();
      fail("chromium did not finish within 45 s: " + Files.readString(tmp.resolve("stderr.txt")));
    }
    return Files.readString(dump, UTF_8);
  }

  @Test
  void page_inHeadlessChromium_showsBackendsSharesProbesAndFindings(@TempDir Path tmp)
      throws Exception {
    Path browser = requireBrowser(chromium(), System.getenv("CI"));
    String dom = dumpDom(browser, tmp, "http://" + endpoint() + "/");
    assertTrue(dom.contains("<h1>lb4j</h1>"), "no page in the DOM: " + dom);
    // the title counts the findings; the bars have their widths without a script
    assertFalse(dom.contains("<script"), dom);
    Matcher title = Pattern.compile("<title>lb4j: (\\d+) findings</title>").matcher(dom);
    assertTrue(title.find(), dom);
    assertTrue(Integer.parseInt(title.group(1)) >= 1, title.group());
    assertTrue(dom.contains("data-check=\"PROBE_FAILING\""), dom);
    for (String id : List.of("web-0", "web-1", "web-2")) {
      assertTrue(dom.contains("data-backend=\"" + id + "\""), id + " missing: " + dom);
    }
    assertTrue(dom.contains("<td class=\"health UNHEALTHY\">UNHEALTHY</td>"), dom);
    Matcher bar =
        Pattern.compile("data-share=\"([0-9.]+)\" style=\"display:block;width:([0-9.]+)%\"")
            .matcher(dom);
    double total = 0;
    int bars = 0;
    while (bar.find()) {
      assertEquals(
          Double.parseDouble(bar.group(1)),
          Double.parseDouble(bar.group(2)),
          1e-9,
          "a bar's width is its share");
      total += Double.parseDouble(bar.group(1));
      bars++;
    }
    assertEquals(3, bars, dom);
    assertEquals(100.0, total, 0.2, "the connections since start make up the shares");
    assertTrue(dom.contains("<tr class=\"probe\"><td>web-2</td>"), "recent probe results");
    assertTrue(dom.contains("REFUSED"), dom);
  }
}
