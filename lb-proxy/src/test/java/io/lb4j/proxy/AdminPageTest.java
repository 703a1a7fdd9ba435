package io.lb4j.proxy;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.lb4j.AdminState;
import io.lb4j.HealthProbe;
import io.lb4j.HealthState;
import io.lb4j.OutlierDetection;
import io.lb4j.ProbeResult;
import io.lb4j.netty.LeakRecorder;
import io.lb4j.netty.ProxyFixture;
import io.lb4j.netty.TestServer;
import io.lb4j.testing.FakeClock;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;

/**
 * The page at a glance, loaded in headless Chromium (as {@link AdminEndpointTest}: missing, it
 * fails under CI and skips elsewhere) against one live setup in which every backend state shows:
 * web-0 in rotation, web-1 draining, web-2 down (killed), web-3 disabled, web-4 ejected; traffic
 * through web-0 in three sample intervals of 2, 5 and 1 connections, the sampler on a fake
 * scheduler moved 5 s after each. Set {@code -Dlb4j.page.screenshot=PATH} to keep the screenshot.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AdminPageTest {
  private static final Duration WAIT = Duration.ofSeconds(10);

  /** The rows' background colours ({@code AdminPages}' style), by state. */
  private static final Map<String, Integer> ROW_COLOURS = new LinkedHashMap<>();

  static {
    ROW_COLOURS.put("in-rotation", 0xe3f4e8);
    ROW_COLOURS.put("draining", 0xfdefd9);
    ROW_COLOURS.put("down", 0xf9dcdc);
    ROW_COLOURS.put("disabled", 0xe6e6e6);
    ROW_COLOURS.put("ejected", 0xefe0f7);
  }

  private final FakeClock clock = new FakeClock();
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(WAIT).build();
  private final List<Socket> open = new ArrayList<>();
  private ProxyFixture f;
  private PageSampler sampler;
  private AdminServer admin;

  @BeforeAll
  void start() throws Exception {
    f =
        new ProxyFixture(
            5,
            TestServer.Mode.GREET_THEN_ECHO,
            r ->
                r.probe("tcp")
                    .outlierDetection(
                        new OutlierDetection(
                            1, Duration.ofMinutes(10), Duration.ofMinutes(10), 50)),
            c ->
                c.probe(
                    HealthProbe.builder("tcp")
                        .interval(Duration.ofMillis(300))
                        .timeout(Duration.ofMillis(300))
                        .healthyThreshold(1)
                        .unhealthyThreshold(3)
                        .jitterPercent(0)
                        .build()),
            p -> p);
    for (int i = 0; i < 5; i++) {
      String id = "web-" + i;
      await(() -> f.lb.health("app", id).state() == HealthState.HEALTHY, id + " HEALTHY");
    }
    sampler = PageSampler.start(f.proxy, clock, clock, InstantSource.system());
    admin =
        new AdminServer(
            f.proxy,
            () -> null,
            () -> false,
            AdminOptions.at(new InetSocketAddress("127.0.0.1", 0)),
            ProxyMetrics.of(f.proxy, new Reloads(InstantSource.system())),
            sampler);
    f.lb.setAdminState("web", "web-1", AdminState.DRAINING);
    f.lb.setAdminState("web", "web-3", AdminState.DISABLED);
    f.servers.get(2).kill();
    await(() -> f.lb.health("app", "web-2").state() == HealthState.UNHEALTHY, "web-2 UNHEALTHY");
    f.lb.reportConnectFailure("app", "web-4");
    await(() -> f.lb.health("app", "web-4").isEjected(), "web-4 ejected");
    for (int n : new int[] {2, 5, 1}) {
      Instant probed = lastProbe("web-0");
      for (int i = 0; i < n; i++) {
        connect().close();
      }
      await(() -> lastProbe("web-0").isAfter(probed), "a probe of web-0 in the interval");
      clock.forwardTime(PageSampler.INTERVAL);
    }
    open.add(connect()); // a live flow
  }

  @AfterAll
  void stop() throws IOException {
    for (Socket s : open) {
      s.close();
    }
    if (admin != null) {
      admin.close();
    }
    if (f != null) {
      f.close();
    }
    assertEquals(List.of(), LeakRecorder.collect(), "Netty reported leaked buffers");
  }

  private Instant lastProbe(String backend) {
    ProbeResult r = f.lb.health("app", backend).lastResult();
    return r == null ? Instant.MIN : r.time();
  }

  /** Connects through the frontend from 127.0.0.80 and reads the backend's greeting. */
  private Socket connect() throws IOException {
    Socket s = new Socket();
    s.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.80"), 0));
    s.setSoTimeout((int) WAIT.toMillis());
    s.connect(f.frontend, (int) WAIT.toMillis());
    assertEquals("web-0", TestServer.readLine(s.getInputStream()));
    return s;
  }

  private static void await(BooleanSupplier condition, String what) throws InterruptedException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        fail(what + " not within " + WAIT);
      }
      TimeUnit.MILLISECONDS.sleep(10); // polling with a deadline, not synchronisation by sleep
    }
  }

  private String url(String path) {
    return "http://127.0.0.1:" + admin.address().getPort() + path;
  }

  private HttpResponse<String> get(String path) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create(url(path))).timeout(WAIT).build(),
        HttpResponse.BodyHandlers.ofString(UTF_8));
  }

  /** Returns the {@code <tr>} of {@code backend} in {@code html}. */
  private static String row(String html, String backend) {
    Matcher m =
        Pattern.compile("<tr class=\"backend [^\"]*\" data-backend=\"" + backend + "\".*?</tr>")
            .matcher(html);
    assertTrue(m.find(), backend + "'s row: " + html);
    return m.group();
  }

  @Test
  void sampler_liveProxy_countsEachIntervalsConnectionsAndProbes() {
    PageSampler.Series s = sampler.series("app", "web-0");
    assertArrayEquals(new double[] {0.4, 1.0, 0.2}, s.connectionsPerSecond(), 1e-9);
    for (double ms : s.probeLatencyMillis()) {
      assertTrue(ms >= 0 && ms < WAIT.toMillis(), "a probe in every interval: " + s);
    }
    assertEquals(0.2, sampler.rate("app"), 1e-9);
    assertArrayEquals(
        new double[] {0, 0, 0},
        sampler.series("app", "web-3").connectionsPerSecond(),
        "disabled: no connections");
  }

  @Test
  void page_inHeadlessChromium_summaryTableFirstStatesAndSparklines(@TempDir Path tmp)
      throws Exception {
    Path browser =
        AdminEndpointTest.requireBrowser(AdminEndpointTest.chromium(), System.getenv("CI"));
    String dom = AdminEndpointTest.dumpDom(browser, tmp, url("/"));
    assertTrue(dom.contains("<h1>lb4j</h1>"), "no page in the DOM: " + dom);
    assertFalse(dom.contains("<script"), "no script: " + dom);
    // the header: version and uptime
    assertFalse(BuildInfo.CURRENT.version().contains("${"));
    assertTrue(
        dom.contains("version <span id=\"version\">" + BuildInfo.CURRENT.version() + "</span>"),
        dom);
    assertTrue(
        Pattern.compile("up <span id=\"uptime\" title=\"since [^\"]+\">\\d+").matcher(dom).find(),
        dom);
    assertFalse(dom.contains("http-equiv=\"refresh\""), "auto-refresh is off by default");
    assertTrue(dom.contains("<a id=\"refresh\" href=\"/?refresh=5\">every 5s</a>"), dom);
    // a summary line per rule, with why the others are out
    assertTrue(
        dom.contains(
            "<li class=\"summary some-out\" data-rule=\"app\" data-in-rotation=\"1\""
                + " data-backends=\"5\"><a href=\"#rule-app\">app: 1 of 5 backends in rotation"
                + " (out: web-1 admin DRAINING, web-2 UNHEALTHY, web-3 admin DISABLED, web-4"
                + " ejected)</a></li>"),
        dom);
    // the backend table before the findings
    int table = dom.indexOf("<table class=\"backends\"");
    int findings = dom.indexOf("<details id=\"findings\"");
    assertTrue(table > 0 && findings > table, "table at " + table + ", findings at " + findings);
    Matcher count =
        Pattern.compile("<details id=\"findings\" data-count=\"(\\d+)\"( open(=\"\")?)?>")
            .matcher(dom);
    assertTrue(count.find(), dom);
    assertEquals(
        Integer.parseInt(count.group(1)) <= AdminPages.FINDINGS_SHOWN_OPEN,
        count.group(2) != null,
        "open only with few findings: " + count.group());
    assertTrue(dom.contains("data-check=\"PROBE_FAILING\""), dom);
    // each row named and classed by its state
    Map<String, String> states =
        Map.of(
            "web-0", "in-rotation",
            "web-1", "draining",
            "web-2", "down",
            "web-3", "disabled",
            "web-4", "ejected");
    for (Map.Entry<String, String> e : states.entrySet()) {
      String row = row(dom, e.getKey());
      assertTrue(
          row.startsWith(
              "<tr class=\"backend st-"
                  + e.getValue()
                  + "\" data-backend=\""
                  + e.getKey()
                  + "\" data-state=\""
                  + e.getValue()
                  + "\"><td class=\"state\"><b>"
                  + e.getValue().replace('-', ' ')
                  + "</b>"),
          row);
      assertTrue(row.contains("<td class=\"since\" title=\""), "time since the change: " + row);
    }
    assertTrue(row(dom, "web-2").contains("<small>UNHEALTHY</small>"), row(dom, "web-2"));
    // cumulative counters beside the live flows: 8 connections, 1 in the last interval of 5 s
    assertTrue(dom.contains("flows now <b class=\"flows\">1</b>"), dom);
    assertTrue(dom.contains("since start: <b class=\"connections\">9</b> connections"), dom);
    assertTrue(dom.contains("<b class=\"rate\">0.20</b> connections/s over the last 5s"), dom);
    // the share bar: cumulative, so web-0 has all of it although only one flow is open
    String web0 = row(dom, "web-0");
    assertTrue(web0.contains("data-share=\"100.0\" style=\"display:block;width:100.0%\""), web0);
    assertTrue(row(dom, "web-1").contains("data-share=\"0.0\""), row(dom, "web-1"));
    // sparklines: 3 samples of new connections/s (0.4, 1.0, 0.2 of max 1.0) and of latency
    Matcher conn =
        Pattern.compile("<svg [^>]*class=\"spark conn\".*?<polyline points=\"([^\"]+)\"")
            .matcher(web0);
    assertTrue(conn.find(), web0);
    assertEquals("114.1,14.0 116.0,2.0 118.0,18.0", conn.group(1));
    Matcher latency =
        Pattern.compile("<svg [^>]*class=\"spark latency\".*?<polyline points=\"([^\"]+)\"")
            .matcher(web0);
    assertTrue(latency.find(), web0);
    assertEquals(3, latency.group(1).split(" ").length, latency.group(1));
  }

  @Test
  void page_svgsAreWellFormedXml() throws Exception {
    String html = get("/").body();
    Matcher svg = Pattern.compile("<svg .*?</svg>", Pattern.DOTALL).matcher(html);
    DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
    factory.setNamespaceAware(true);
    int svgs = 0;
    int lines = 0;
    while (svg.find()) {
      Document doc =
          factory.newDocumentBuilder().parse(new ByteArrayInputStream(svg.group().getBytes(UTF_8)));
      Element root = doc.getDocumentElement();
      assertEquals("svg", root.getLocalName());
      assertEquals("http://www.w3.org/2000/svg", root.getNamespaceURI());
      lines += root.getElementsByTagNameNS("http://www.w3.org/2000/svg", "polyline").getLength();
      svgs++;
    }
    assertTrue(svgs >= 2, "web-0's two sparklines at least: " + html);
    assertTrue(lines >= 2, html);
  }

  @Test
  void page_refreshAsked_metaRefreshAndStopLink(@TempDir Path tmp) throws Exception {
    Path browser =
        AdminEndpointTest.requireBrowser(AdminEndpointTest.chromium(), System.getenv("CI"));
    String dom = AdminEndpointTest.dumpDom(browser, tmp, url("/?refresh=7"));
    assertTrue(dom.contains("<meta http-equiv=\"refresh\" content=\"7\">"), dom);
    assertTrue(
        dom.contains("<span id=\"refresh\">refreshes every 7s</span> (<a href=\"/\">stop</a>)"),
        dom);
    HttpResponse<String> bad = get("/?refresh=1");
    assertEquals(400, bad.statusCode());
    assertEquals("refresh: '1' (expected: seconds, a whole number from 2 to 3600)\n", bad.body());
    assertEquals(400, get("/?refresh=soon").statusCode());
  }

  /**
   * The page as Chromium paints it: a screenshot has each state's row colour, so the colours come
   * from the style, not only the class names.
   */
  @Test
  void page_screenshot_rowsPaintedInTheirStatesColours(@TempDir Path tmp) throws Exception {
    Path browser =
        AdminEndpointTest.requireBrowser(AdminEndpointTest.chromium(), System.getenv("CI"));
    Path png = screenshot(browser, tmp, url("/"));
    BufferedImage image = ImageIO.read(png.toFile());
    assertTrue(image != null, "not a PNG: " + png);
    Map<Integer, Integer> pixels = new LinkedHashMap<>();
    for (int y = 0; y < image.getHeight(); y++) {
      for (int x = 0; x < image.getWidth(); x++) {
        pixels.merge(image.getRGB(x, y) & 0xffffff, 1, Integer::sum);
      }
    }
    for (Map.Entry<String, Integer> e : ROW_COLOURS.entrySet()) {
      int n = pixels.getOrDefault(e.getValue(), 0);
      assertTrue(
          n > 500, String.format("%s row colour #%06x: %d pixels", e.getKey(), e.getValue(), n));
    }
    String keep = System.getProperty("lb4j.page.screenshot");
    if (keep != null) {
      Files.copy(png, Path.of(keep), StandardCopyOption.REPLACE_EXISTING);
    }
  }

  /** Returns a 1600×1000 screenshot of {@code url} in headless {@code browser}, sRGB. */
  static Path screenshot(Path browser, Path tmp, String url) throws Exception {
    Path png = tmp.resolve("page.png");
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
                "--hide-scrollbars",
                "--force-color-profile=srgb",
                "--force-device-scale-factor=1",
                "--window-size=1600,1000",
                "--user-data-dir=" + tmp.resolve("profile"),
                "--screenshot=" + png,
                url)
            .redirectOutput(tmp.resolve("stdout.txt").toFile())
            .redirectError(tmp.resolve("stderr.txt").toFile())
            .start();
    if (!p.waitFor(45, TimeUnit.SECONDS)) {
      p.toHandle().destroyForcibly();
      fail("chromium did not finish within 45 s: " + Files.readString(tmp.resolve("stderr.txt")));
    }
    assertTrue(
        Files.isRegularFile(png), "no screenshot: " + Files.readString(tmp.resolve("stderr.txt")));
    return png;
  }
}
