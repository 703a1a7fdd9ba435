package io.lb4j.proxy;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lb4j.AdminState;
import io.lb4j.Backend;
import io.lb4j.BackendHealth;
import io.lb4j.Diagnosis;
import io.lb4j.Finding;
import io.lb4j.HealthOverride;
import io.lb4j.HealthState;
import io.lb4j.netty.Counters;
import io.lb4j.proxy.AdminPages.PageInfo;
import io.lb4j.proxy.AdminPages.Row;
import io.lb4j.proxy.AdminPages.RuleView;
import io.lb4j.proxy.AdminPages.State;
import io.lb4j.proxy.AdminPages.Status;
import java.io.ByteArrayInputStream;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/** The page rendered from a model built here: no proxy, no browser. */
class AdminPagesTest {
  private static final Instant AT = Instant.parse("2026-11-21T12:10:00Z");
  private static final Counters.Snapshot COUNTERS =
      new Counters.Snapshot(2, 1234, 3 * 1024 * 1024, 1536, 7, 0, 0, 0, 0, 0, 0, 0);

  private static BackendHealth health(
      HealthState state, boolean inRotation, Instant ejectedUntil, HealthOverride override) {
    return new BackendHealth("app", "b", state, override, ejectedUntil, 0, inRotation, List.of());
  }

  private static Row row(String id, Status status, long connections, PageSampler.Series series) {
    return new Row(
        id,
        "127.0.0.2:8080",
        1,
        "ENABLED",
        "HEALTHY",
        status.state() == State.IN_ROTATION,
        0,
        connections,
        List.of(),
        status,
        status.state() == State.IN_ROTATION ? "" : status.reason(),
        AT.minusSeconds(192),
        0,
        series);
  }

  private static Finding finding(int i) {
    return new Finding(
        Finding.Severity.WARNING,
        Finding.Check.PROBE_FAILING,
        "app",
        "web-" + i,
        "what " + i,
        List.of("evidence"),
        "fix");
  }

  private static AdminPages.Model model(List<Row> rows, int findings, int refresh) {
    List<Finding> list = new ArrayList<>();
    for (int i = 0; i < findings; i++) {
      list.add(finding(i));
    }
    return new AdminPages.Model(
        AT,
        List.of(),
        List.of(new RuleView("app", "127.0.0.1:80/TCP -> pool web", rows, "", COUNTERS, 1.5)),
        new Diagnosis(AT, 12, list),
        new PageInfo("1.2.3", AT.minusSeconds(3723), refresh, Duration.ofSeconds(5), 60));
  }

  private static final PageSampler.Series NONE =
      new PageSampler.Series(new double[0], new double[0]);

  @Test
  void status_eachState_fromAdminStateThenRotationThenEjection() {
    Backend b = Backend.of("web-0", "127.0.0.2", 8080);
    BackendHealth healthy = health(HealthState.HEALTHY, true, null, HealthOverride.FOLLOW_PROBE);
    Instant until = AT.plusSeconds(30);
    assertEquals(new Status(State.IN_ROTATION, ""), AdminPages.status(b, healthy));
    assertEquals(
        new Status(State.DRAINING, "admin DRAINING"),
        AdminPages.status(b.withAdminState(AdminState.DRAINING), healthy));
    assertEquals(
        new Status(State.DISABLED, "admin DISABLED"),
        AdminPages.status(b.withAdminState(AdminState.DISABLED), healthy));
    assertEquals(
        new Status(State.EJECTED, "passive health", until),
        AdminPages.status(
            b, health(HealthState.UNHEALTHY, false, until, HealthOverride.FOLLOW_PROBE)));
    assertEquals(
        new Status(State.IN_ROTATION, "ejected, kept as the last resort"),
        AdminPages.status(
            b, health(HealthState.UNHEALTHY, true, until, HealthOverride.FOLLOW_PROBE)));
    assertEquals(
        new Status(State.DOWN, "UNHEALTHY"),
        AdminPages.status(
            b, health(HealthState.UNHEALTHY, false, null, HealthOverride.FOLLOW_PROBE)));
    assertEquals(
        new Status(State.DOWN, "FORCE_DOWN"),
        AdminPages.status(
            b, health(HealthState.UNHEALTHY, false, null, HealthOverride.FORCE_DOWN)));
    assertEquals(
        new Status(State.DOWN, "weight 0"),
        AdminPages.status(
            b.withWeight(0),
            health(HealthState.HEALTHY, false, null, HealthOverride.FOLLOW_PROBE)));
    assertEquals("down: UNHEALTHY", new Status(State.DOWN, "UNHEALTHY").describe());
    assertEquals(
        "ejected: passive health",
        new Status(State.EJECTED, "passive health", until).describe(),
        "the ejection's end is not part of the state: it is computed afresh at each read");
  }

  @Test
  void glance_countsInRotationAndSaysWhyTheOthersAreOut() {
    List<Row> rows =
        List.of(
            row("web-0", new Status(State.IN_ROTATION, ""), 0, NONE),
            row("web-1", new Status(State.DOWN, "UNHEALTHY"), 0, NONE),
            row("web-2", new Status(State.IN_ROTATION, ""), 0, NONE));
    RuleView r = model(rows, 0, 0).rules().get(0);
    assertEquals("app: 2 of 3 backends in rotation (out: web-1 UNHEALTHY)", r.glance());
    RuleView all = model(List.of(rows.get(0)), 0, 0).rules().get(0);
    assertEquals("app: 1 of 1 backend in rotation", all.glance());
  }

  @Test
  void html_tableFirstStatesColouredAndNamedNoScript() {
    List<Row> rows = new ArrayList<>();
    for (State s : State.values()) {
      rows.add(row("b-" + s.css(), new Status(s, s == State.IN_ROTATION ? "" : "why"), 10, NONE));
    }
    String html = AdminPages.html(model(rows, 1, 0));
    assertFalse(html.contains("<script"), html);
    assertTrue(html.indexOf("<ul class=\"glance\"") < html.indexOf("<table class=\"backends\""));
    assertTrue(html.indexOf("<table class=\"backends\"") < html.indexOf("id=\"findings\""));
    for (State s : State.values()) {
      assertTrue(
          html.contains(
              "<tr class=\"backend st-"
                  + s.css()
                  + "\" data-backend=\"b-"
                  + s.css()
                  + "\" data-state=\""
                  + s.css()
                  + "\"><td class=\"state\"><b>"
                  + s.text()
                  + "</b>"),
          s + ": " + html);
      assertTrue(html.contains("tr.st-" + s.css() + " td{background:#"), "a colour for " + s);
    }
    assertTrue(html.contains("version <span id=\"version\">1.2.3</span>"), html);
    assertTrue(html.contains(">1h2m</span>"), "uptime: " + html);
    assertTrue(html.contains("<td class=\"since\" title=\"in rotation since "), html);
    assertTrue(html.contains(">3m12s</td>"), "time in the state: " + html);
    assertTrue(
        html.contains(
            "since start: <b class=\"connections\">1234</b> connections, <b class=\"bytes-in\">"
                + "3.0 MiB</b> in (clients to backends), <b class=\"bytes-out\">1.5 KiB</b> out,"
                + " <b class=\"connect-failures\">7</b> connect failures &middot; <b"
                + " class=\"rate\">1.50</b> connections/s over the last 5s"),
        html);
    assertTrue(html.contains("data-share=\"20.0\""), "10 of 50 connections: " + html);
    assertTrue(html.contains("<span class=\"nosamples\">no samples yet</span>"), html);
  }

  @Test
  void html_findings_openWhenFewCollapsedWhenMany() {
    List<Row> rows = List.of(row("web-0", new Status(State.IN_ROTATION, ""), 0, NONE));
    assertTrue(
        AdminPages.html(model(rows, 0, 0))
            .contains(
                "<details id=\"findings\" data-count=\"0\" open><summary><h2>Findings</h2> none"));
    String three = AdminPages.html(model(rows, 3, 0));
    assertTrue(
        three.contains(
            "<details id=\"findings\" data-count=\"3\" open><summary><h2>Findings</h2> 3: 3"
                + " WARNING</summary>"),
        three);
    String four = AdminPages.html(model(rows, 4, 0));
    assertTrue(
        four.contains(
            "<details id=\"findings\" data-count=\"4\"><summary><h2>Findings</h2> 4: 4"
                + " WARNING</summary>"),
        four);
  }

  @Test
  void html_refresh_metaAndStopLinkOnlyWhenAsked() {
    List<Row> rows = List.of(row("web-0", new Status(State.IN_ROTATION, ""), 0, NONE));
    String off = AdminPages.html(model(rows, 0, 0));
    assertFalse(off.contains("http-equiv"), off);
    assertTrue(off.contains("<a id=\"refresh\" href=\"/?refresh=5\">every 5s</a>"), off);
    String on = AdminPages.html(model(rows, 0, 30));
    assertTrue(on.contains("<meta http-equiv=\"refresh\" content=\"30\">"), on);
    assertTrue(on.contains("refreshes every 30s</span> (<a href=\"/\">stop</a>)"), on);
  }

  @Test
  void refreshSeconds_parsesTheQueryAndNamesBadValues() {
    assertEquals(0, AdminPages.refreshSeconds(Map.of()));
    assertEquals(5, AdminPages.refreshSeconds(Map.of("refresh", List.of("5"))));
    assertEquals(3600, AdminPages.refreshSeconds(Map.of("refresh", List.of("3600"))));
    for (String bad : List.of("1", "3601", "-5", "soon", "")) {
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () -> AdminPages.refreshSeconds(Map.of("refresh", List.of(bad))));
      assertEquals(
          "refresh: '" + bad + "' (expected: seconds, a whole number from 2 to 3600)",
          e.getMessage());
    }
  }

  /** Parses {@code svg} as XML on its own: throws if it is not well-formed. */
  private static Element parse(String svg) throws Exception {
    DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
    factory.setNamespaceAware(true);
    Document doc =
        factory.newDocumentBuilder().parse(new ByteArrayInputStream(svg.getBytes(UTF_8)));
    return doc.getDocumentElement();
  }

  @Test
  void svg_pointsRightAlignedAndScaledFromZeroToTheMaximum() throws Exception {
    Element svg = parse(AdminPages.svg("conn", new double[] {0, 5, 10}, 3, "t"));
    assertEquals("http://www.w3.org/2000/svg", svg.getNamespaceURI());
    assertEquals("0 0 120 24", svg.getAttribute("viewBox"));
    NodeList lines = svg.getElementsByTagNameNS("http://www.w3.org/2000/svg", "polyline");
    assertEquals(1, lines.getLength());
    // x from 2 to 118 in 2 steps; y from 22 (0) to 2 (the maximum)
    assertEquals("2.0,22.0 60.0,12.0 118.0,2.0", ((Element) lines.item(0)).getAttribute("points"));
    // fewer values than capacity: the newest at the right edge, one step apart
    Element few = parse(AdminPages.svg("conn", new double[] {1, 1}, 60, "t"));
    assertEquals(
        "116.0,2.0 118.0,2.0",
        ((Element) few.getElementsByTagNameNS("*", "polyline").item(0)).getAttribute("points"));
    // all zero: a flat line at the bottom, no division by zero
    Element zero = parse(AdminPages.svg("conn", new double[] {0, 0}, 3, "t"));
    assertEquals(
        "60.0,22.0 118.0,22.0",
        ((Element) zero.getElementsByTagNameNS("*", "polyline").item(0)).getAttribute("points"));
  }

  @Test
  void svg_gaps_splitTheLineAndALoneValueIsADot() throws Exception {
    double nan = Double.NaN;
    Element svg =
        parse(AdminPages.svg("latency", new double[] {1, 2, nan, 4, nan, nan, 3, 2}, 8, "t"));
    NodeList lines = svg.getElementsByTagNameNS("*", "polyline");
    NodeList dots = svg.getElementsByTagNameNS("*", "circle");
    assertEquals(2, lines.getLength(), "1-2 and 3-2");
    assertEquals(1, dots.getLength(), "the lone 4");
    assertFalse(AdminPages.svg("latency", new double[] {nan, 1, nan}, 8, "t").contains("NaN"));
  }

  @Test
  void svg_titleEscaped_wellFormedWithMarkupInIt() throws Exception {
    String title = "rule <a & \"b\"> 'c' </svg>";
    String text = AdminPages.svg("conn", new double[] {1, 2}, 60, title);
    Element svg = parse(text);
    assertEquals(title, svg.getAttribute("aria-label"));
    assertEquals(title, svg.getElementsByTagNameNS("*", "title").item(0).getTextContent());
    Matcher end = Pattern.compile("</svg>").matcher(text);
    int ends = 0;
    while (end.find()) {
      ends++;
    }
    assertEquals(1, ends, text);
  }

  @Test
  void html_backendIdWithMarkup_escapedInRowSummaryAndSvg() throws Exception {
    String id = "web<1>&\"x\"";
    PageSampler.Series s = new PageSampler.Series(new double[] {1, 2}, new double[] {0.5, 0.7});
    List<Row> rows = List.of(row(id, new Status(State.DOWN, "UNHEALTHY"), 3, s));
    String html = AdminPages.html(model(rows, 0, 0));
    assertFalse(html.contains("web<1>"), html);
    assertTrue(html.contains("data-backend=\"web&lt;1&gt;&amp;&quot;x&quot;\""), html);
    assertTrue(html.contains("(out: web&lt;1&gt;&amp;&quot;x&quot; UNHEALTHY)"), html);
    Matcher svg = Pattern.compile("<svg .*?</svg>").matcher(html);
    int n = 0;
    while (svg.find()) {
      parse(svg.group());
      n++;
    }
    assertEquals(2, n, html);
  }

  @Test
  void formats_ageBytesNumbers() {
    assertEquals("3m12s", AdminPages.age(Duration.ofMillis(192_700)));
    assertEquals("1h2m", AdminPages.age(Duration.ofSeconds(3723)));
    assertEquals("0s", AdminPages.age(Duration.ofSeconds(-4)));
    assertEquals("512 B", AdminPages.bytes(512));
    assertEquals("1.5 KiB", AdminPages.bytes(1536));
    assertEquals("3.0 MiB", AdminPages.bytes(3L << 20));
    assertEquals("0", AdminPages.number(0));
    assertEquals("0.25", AdminPages.number(0.25));
    assertEquals("12.5", AdminPages.number(12.5));
    assertEquals("120", AdminPages.number(120.4));
  }
}
