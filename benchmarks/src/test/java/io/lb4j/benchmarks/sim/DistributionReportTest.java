package io.lb4j.benchmarks.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lb4j.benchmarks.chart.SvgDocs;
import io.lb4j.benchmarks.sim.DistributionReport.Report;
import io.lb4j.benchmarks.sim.DistributionReport.Row;
import io.lb4j.benchmarks.sim.DistributionReport.Shares;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Element;

/** Runs the report on a small scenario (20,000 flows, N = 10, no Fig. 12) and reads its output. */
class DistributionReportTest {
  private static final int FLOWS = 20_000;
  private static final List<String> ALGORITHMS =
      List.of("Maglev M=65537", "Maglev M=655373", "ring, 160 points", "rendezvous", "jump");

  @TempDir static Path dir;
  static Report report;
  static List<Path> written;

  @BeforeAll
  static void runReport() throws IOException {
    report = DistributionReport.run(FLOWS, new int[] {10}, 0);
    written = DistributionReport.write(report, dir);
  }

  @Test
  void write_everySvgWellFormedAndReferencedFromTheMarkdown() throws IOException {
    Set<String> names =
        written.stream().map(p -> p.getFileName().toString()).collect(Collectors.toSet());
    assertEquals(
        Set.of("distribution-report.md", "moved.svg", "shares-equal.svg", "shares-weighted.svg"),
        names);
    String md = Files.readString(dir.resolve("distribution-report.md"), StandardCharsets.UTF_8);
    for (Path p : written) {
      String name = p.getFileName().toString();
      if (name.endsWith(".svg")) {
        SvgDocs.parse(Files.readString(p, StandardCharsets.UTF_8));
        assertTrue(md.contains("](" + name + ")"), name + " is not referenced from the report");
      }
    }
    for (String algorithm : ALGORITHMS) {
      assertTrue(md.contains("| " + algorithm + " | 10 | "), algorithm + " row in\n" + md);
    }
  }

  @Test
  void sharesCharts_onePanelPerAlgorithm_oneObservedAndOneIdealBarPerBackend() throws IOException {
    for (String scenario : List.of("equal", "weighted")) {
      Element root = svg("shares-" + scenario + ".svg");
      int[] weights = scenario.equals("equal") ? ones(10) : DistributionReport.SHARE_WEIGHTS;
      int total = Arrays.stream(weights).sum();
      List<Element> panels = SvgDocs.byClass(root, "g", "panel");
      assertEquals(ALGORITHMS.size(), panels.size(), scenario);
      for (int a = 0; a < panels.size(); a++) {
        Element panel = panels.get(a);
        assertTrue(
            panel.getAttribute("data-title").startsWith(ALGORITHMS.get(a) + ": "),
            panel.getAttribute("data-title"));
        Shares shares = shares(scenario, a);
        List<Element> observed = bars(panel, "observed share");
        List<Element> ideal = bars(panel, "ideal: weight / total weight");
        assertEquals(10, observed.size(), scenario + " " + ALGORITHMS.get(a));
        assertEquals(10, ideal.size(), scenario + " " + ALGORITHMS.get(a));
        List<String> labels = new ArrayList<>();
        for (Element t : SvgDocs.byClass(panel, "text", "group-label")) {
          labels.add(t.getTextContent());
        }
        double unitIdeal = SvgDocs.number(ideal.get(0), "height") / weights[0];
        for (int b = 0; b < 10; b++) {
          assertEquals("b" + b + " w=" + weights[b], observed.get(b).getAttribute("data-group"));
          assertTrue(labels.contains("b" + b), "label b" + b + " in " + labels);
          assertTrue(labels.contains("w=" + weights[b]), "label w=" + weights[b] + " in " + labels);
          assertEquals(
              100.0 * shares.counts()[b] / FLOWS,
              SvgDocs.number(observed.get(b), "data-value"),
              1e-9);
          assertEquals(
              100.0 * weights[b] / total, SvgDocs.number(ideal.get(b), "data-value"), 1e-9);
          // heights follow the values: the ideal bar is proportional to the weight
          assertEquals(unitIdeal * weights[b], SvgDocs.number(ideal.get(b), "height"), 0.03);
        }
      }
      List<String> texts = SvgDocs.texts(root);
      assertTrue(texts.contains("observed share"), "legend: " + texts);
      assertTrue(texts.contains("share of flows"), "axis label: " + texts);
    }
  }

  @Test
  void sharesWeighted_drainedBackendGetsNoFlows_othersNearTheirWeight() {
    for (int a = 0; a < ALGORITHMS.size(); a++) {
      Shares s = shares("weighted", a);
      assertEquals(0, s.counts()[9], ALGORITHMS.get(a) + ": the weight-0 backend's flows");
      assertEquals(FLOWS, Arrays.stream(s.counts()).sum());
      // 20,000 flows: the heaviest backend (5/25) expects 4,000; ring hash spreads by ≈8%
      long heaviest = s.counts()[8];
      assertTrue(heaviest > 3400 && heaviest < 4600, ALGORITHMS.get(a) + ": " + heaviest);
    }
  }

  @Test
  void movedChart_onePanelPerSize_oneBarPerAlgorithmAndChange_idealAsMarkers() throws IOException {
    Element root = svg("moved.svg");
    List<Element> panels = SvgDocs.byClass(root, "g", "panel");
    assertEquals(1, panels.size());
    assertEquals("N = 10 backends", panels.get(0).getAttribute("data-title"));
    List<Element> bars = SvgDocs.byClass(root, "rect", "bar");
    assertEquals(ALGORITHMS.size() * DistributionReport.CHANGES.size(), bars.size());
    List<Element> markers = SvgDocs.byClass(root, "line", "marker");
    assertEquals(DistributionReport.CHANGES.size(), markers.size());
    Row jump = report.rows().get(4);
    assertEquals("JUMP", jump.algorithm());
    for (int c = 0; c < DistributionReport.CHANGES.size(); c++) {
      String change = DistributionReport.CHANGES.get(c);
      assertEquals(change, markers.get(c).getAttribute("data-group"));
      assertEquals(100 * jump.ideal()[c], SvgDocs.number(markers.get(c), "data-value"), 1e-9);
      Element jumpBar =
          bars.stream()
              .filter(b -> b.getAttribute("data-series").equals("jump"))
              .filter(b -> b.getAttribute("data-group").equals(change))
              .findFirst()
              .orElseThrow(() -> new AssertionError("no jump bar for " + change));
      assertEquals(100 * jump.moved()[c], SvgDocs.number(jumpBar, "data-value"), 1e-9);
    }
    List<String> texts = SvgDocs.texts(root);
    assertTrue(texts.containsAll(ALGORITHMS), "legend: " + texts);
    assertTrue(texts.contains("ideal (minimal disruption)"), "legend: " + texts);
    assertTrue(texts.contains("1 leaves"), "group labels: " + texts);
    // jump re-weighting its largest weight moves far more than the ideal: the chart's point
    assertTrue(jump.moved()[4] > 3 * jump.ideal()[4], Arrays.toString(jump.moved()));
  }

  @Test
  void printCsv_oneRowPerAlgorithmAndSize() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    DistributionReport.printCsv(report, new PrintStream(bytes, true, StandardCharsets.UTF_8));
    String csv = bytes.toString(StandardCharsets.UTF_8);
    assertTrue(csv.contains("\nJUMP,10,"), csv);
    assertEquals(5, csv.lines().filter(l -> l.matches("[A-Z_0-9-]+,10,.*")).count(), csv);
  }

  @Test
  void parseSizes_notAPositiveInteger_throwsNamingValue() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> DistributionReport.parseSizes("10,x"));
    assertEquals("--sizes: 'x' (expected: a positive integer, at most 2147483647)", e.getMessage());
    assertEquals(
        List.of(10, 100), Arrays.stream(DistributionReport.parseSizes("10, 100")).boxed().toList());
  }

  private static Element svg(String name) throws IOException {
    return SvgDocs.parse(Files.readString(dir.resolve(name), StandardCharsets.UTF_8))
        .getDocumentElement();
  }

  private static List<Element> bars(Element panel, String series) {
    return SvgDocs.byClass(panel, "rect", "bar").stream()
        .filter(b -> b.getAttribute("data-series").equals(series))
        .toList();
  }

  private static Shares shares(String scenario, int algorithm) {
    return report.shares().stream()
        .filter(s -> s.scenario().equals(scenario))
        .toList()
        .get(algorithm);
  }

  private static int[] ones(int n) {
    int[] w = new int[n];
    Arrays.fill(w, 1);
    return w;
  }
}
