package io.lb4j.benchmarks.chart;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Element;

class E2eChartTest {
  /** What e2e.py prints, as it prints it (%10.3g: exponents for large numbers). */
  private static final List<String> OUTPUT =
      List.of(
          "# 2026-11-29T20:00:00Z, 2 cores, rounds 3, 10 s per test, lb4j transport IO_URING",
          "round 1 lb4j: bulk1 9.7, cpuPerGB1 0.756, close 9.11e+03",
          "round 1 haproxy: bulk1 9.34, cpuPerGB1 0.771, close 9.74e+03",
          "",
          "median of 3 rounds                           lb4j    HAProxy      nginx lb4j-epoll"
              + "  lb4j/HAProxy     nginx/HAProxy lb4j-epoll/HAProxy",
          "bulk, 1 stream (Gbit/s)                       9.7       9.34       9.63       10.8"
              + "          1.04              1.03              1.16",
          "bulk, 4 streams (Gbit/s)                     10.2       9.19       9.52       11.7"
              + "          1.11              1.04              1.27",
          "CPU s per GB, 1 stream                      0.756      0.771       0.75      0.667"
              + "          0.98              0.97              0.87",
          "new connections/s (wrk -c32, close)     9.11e+03   9.74e+03   9.18e+03   8.05e+03"
              + "          0.94              0.94              0.83",
          "CPU us per connection                         105       94.8         85        121"
              + "          1.11              0.90              1.28",
          "keep-alive requests/s (wrk -c64)         4.7e+04   4.33e+04   4.39e+04   4.51e+04"
              + "          1.09              1.01              1.04",
          "CPU us per request                          16.9       18.4       17.3       17.5"
              + "          0.92              0.94              0.95",
          "keep-alive p50 ms                           1.22       1.31       1.28       1.22"
              + "          0.93              0.98              0.93",
          "keep-alive p99 ms                            nan       2.45       2.55       2.46"
              + "           nan              1.04              1.00");

  @Test
  void parse_summaryTable_readsMediansAndSkipsRatioColumns() {
    E2eChart.Run run = E2eChart.parse("e2e.txt", OUTPUT);
    assertEquals(List.of("lb4j", "HAProxy", "nginx", "lb4j-epoll"), run.columns());
    assertEquals(3, run.rounds());
    assertEquals("IO_URING", run.transport());
    assertEquals(9, run.rows().size());
    assertEquals(
        List.of(9110.0, 9740.0, 9180.0, 8050.0),
        boxed(run.rows().get("new connections/s (wrk -c32, close)")));
    assertTrue(Double.isNaN(run.rows().get("keep-alive p99 ms")[0]));
  }

  @Test
  void render_oneBarPerTestAndRatio_valuesAreTheRatiosOfMedians() {
    Element root =
        SvgDocs.parse(E2eChart.render(E2eChart.parse("e2e.txt", OUTPUT))).getDocumentElement();
    List<Element> panels = SvgDocs.byClass(root, "g", "panel");
    assertEquals(2, panels.size());
    assertEquals("Throughput: higher is better", panels.get(0).getAttribute("data-title"));
    assertEquals("CPU and latency: lower is better", panels.get(1).getAttribute("data-title"));

    List<String> series =
        List.of(
            "lb4j (io_uring) ÷ HAProxy",
            "lb4j (epoll) ÷ HAProxy",
            "lb4j (io_uring) ÷ nginx",
            "lb4j (epoll) ÷ nginx");
    Map<String, Double> bars = new TreeMap<>();
    int count = 0;
    for (Element bar : SvgDocs.byClass(root, "rect", "bar")) {
      assertTrue(series.contains(bar.getAttribute("data-series")), bar.getAttribute("data-series"));
      bars.put(
          bar.getAttribute("data-series") + " | " + bar.getAttribute("data-group"),
          SvgDocs.number(bar, "data-value"));
      count++;
    }
    assertEquals(9 * 4 - 2, count); // lb4j io_uring's p99 is nan: no bar in either ratio
    assertEquals(count, bars.size());
    assertEquals(9.7 / 9.34, bars.get("lb4j (io_uring) ÷ HAProxy | bulk, 1 stream"), 1e-12);
    assertEquals(8050 / 9180.0, bars.get("lb4j (epoll) ÷ nginx | new connections/s"), 1e-12);
    assertEquals(121 / 94.8, bars.get("lb4j (epoll) ÷ HAProxy | CPU per connection"), 1e-12);
    assertEquals(2.46 / 2.55, bars.get("lb4j (epoll) ÷ nginx | keep-alive p99 latency"), 1e-12);

    List<String> texts = SvgDocs.texts(root);
    for (String label :
        List.of("bulk, 1 stream", "new connections/s", "CPU per GB", "1 = same as the reference")) {
      assertTrue(texts.contains(label), label + " in " + texts);
    }
    assertTrue(texts.containsAll(series), "legend: " + texts);
    assertTrue(texts.contains("1.04"), "value label of 9.7 / 9.34: " + texts);
    assertEquals(2, SvgDocs.byClass(root, "line", "reference").size());
  }

  @Test
  void render_haproxyOnly_oneSeries() {
    List<String> lines =
        List.of(
            "median of 1 rounds                           lb4j    HAProxy  lb4j/HAProxy",
            "new connections/s (wrk -c32, close)         900       1000          0.90");
    Element root = SvgDocs.parse(E2eChart.render(E2eChart.parse("x", lines))).getDocumentElement();
    List<Element> bars = SvgDocs.byClass(root, "rect", "bar");
    assertEquals(1, bars.size());
    assertEquals("lb4j ÷ HAProxy", bars.get(0).getAttribute("data-series"));
    assertEquals(0.9, SvgDocs.number(bars.get(0), "data-value"), 1e-12);
    assertEquals(1, SvgDocs.byClass(root, "g", "panel").size());
  }

  @Test
  void parse_noSummary_throwsSayingWhatIsExpected() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> E2eChart.parse("run.txt", OUTPUT.subList(0, 3)));
    assertEquals(
        "run.txt: no 'median of N rounds' table (expected: the summary e2e.py prints at the end"
            + " of a run)",
        e.getMessage());
  }

  @Test
  void parse_rowWithTooFewValues_throwsNamingLine() {
    List<String> lines = new ArrayList<>(OUTPUT.subList(0, 6));
    lines.add("keep-alive p50 ms   1.22   1.31");
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> E2eChart.parse("run.txt", lines));
    assertEquals(
        "run.txt:7: 'keep-alive p50 ms   1.22   1.31' has too few fields (expected: a label and"
            + " 7 values: lb4j HAProxy nginx lb4j-epoll lb4j/HAProxy nginx/HAProxy"
            + " lb4j-epoll/HAProxy)",
        e.getMessage());
  }

  @Test
  void parse_badNumber_throwsNamingLineAndColumn() {
    List<String> lines = new ArrayList<>(OUTPUT.subList(0, 5));
    lines.add("keep-alive p50 ms   1.22   1.31   x   1.22   0.93   0.98   0.93");
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> E2eChart.parse("run.txt", lines));
    assertEquals("run.txt:6: nginx: 'x' (expected: a number >= 0 or nan)", e.getMessage());
  }

  @Test
  void parse_noHaproxyColumn_throws() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> E2eChart.parse("r", List.of("median of 3 rounds   lb4j   nginx", "a 1 2")));
    assertEquals(
        "r:1: columns [lb4j, nginx] (expected: lb4j and HAProxy among them)", e.getMessage());
  }

  /** docs/charts/e2e.svg is what the renderer makes of docs/charts/e2e.txt, not a hand edit. */
  @Test
  void docsChart_isRenderedFromTheCommittedFigures() throws IOException {
    Path docs = Path.of(System.getProperty("basedir", "."), "..", "docs", "charts");
    Path data = docs.resolve("e2e.txt");
    String expected =
        E2eChart.render(
            E2eChart.parse(data.toString(), Files.readAllLines(data, StandardCharsets.UTF_8)));
    String committed = Files.readString(docs.resolve("e2e.svg"), StandardCharsets.UTF_8);
    assertEquals(
        expected,
        committed,
        "docs/charts/e2e.svg is stale: regenerate it with the command in docs/benchmarks.md");
    SvgDocs.parse(committed);
  }

  private static List<Double> boxed(double[] values) {
    List<Double> out = new ArrayList<>();
    for (double v : values) {
      out.add(v);
    }
    return out;
  }
}
