package io.lb4j.benchmarks.chart;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Element;

class BarChartTest {

  @Test
  void toSvg_linear_barHeightsProportionalToValues() {
    String svg =
        BarChart.titled("t")
            .series("a")
            .series("b")
            .panel("p", List.of("x", "y"), new double[][] {{1, 2}, {4, 0}}, null)
            .toSvg();
    Element root = SvgDocs.parse(svg).getDocumentElement();
    List<Element> bars = SvgDocs.byClass(root, "rect", "bar");
    assertEquals(4, bars.size());
    // written group by group: x/a, x/b, y/a, y/b
    assertEquals("x", bars.get(1).getAttribute("data-group"));
    assertEquals("b", bars.get(1).getAttribute("data-series"));
    double unit = SvgDocs.number(bars.get(0), "height"); // a/x = 1
    assertTrue(unit > 10, "height of 1: " + unit);
    assertEquals(4 * unit, SvgDocs.number(bars.get(1), "height"), 0.02); // b/x = 4
    assertEquals(2 * unit, SvgDocs.number(bars.get(2), "height"), 0.02); // a/y = 2
    assertEquals(0, SvgDocs.number(bars.get(3), "height"), 0.0); // b/y = 0
    // all bars stand on the same baseline
    double base = SvgDocs.number(bars.get(0), "y") + unit;
    for (Element bar : bars) {
      assertEquals(base, SvgDocs.number(bar, "y") + SvgDocs.number(bar, "height"), 0.02);
    }
  }

  @Test
  void toSvg_log_decadesEquallySpacedAndNaNDrawsNoBar() {
    String svg =
        BarChart.titled("t")
            .axis("moved", BarChart.Scale.LOG, BarChart.suffixed("%"))
            .series("a")
            .markers("ideal")
            .panel(
                "p",
                List.of("x", "y", "z"),
                new double[][] {{0.1, 10, Double.NaN}},
                new double[] {1, 1, 1})
            .toSvg();
    Element root = SvgDocs.parse(svg).getDocumentElement();
    List<Element> bars = SvgDocs.byClass(root, "rect", "bar");
    assertEquals(2, bars.size());
    assertEquals(0, SvgDocs.number(bars.get(0), "height"), 0.0); // the axis starts at 0.1
    double twoDecades = SvgDocs.number(bars.get(1), "height");
    List<Element> markers = SvgDocs.byClass(root, "line", "marker");
    assertEquals(3, markers.size());
    double bottom = SvgDocs.number(bars.get(0), "y");
    assertEquals(twoDecades / 2, bottom - SvgDocs.number(markers.get(0), "y1"), 0.02);
    assertEquals(
        List.of("0.1%", "1%", "10%"),
        SvgDocs.byClass(root, "text", "tick").stream().map(Element::getTextContent).toList());
  }

  @Test
  void panel_wrongNumberOfRows_throwsNamingPanelAndCounts() {
    BarChart chart = BarChart.titled("t").series("a").series("b");
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> chart.panel("N = 10", List.of("x"), new double[][] {{1}}, null));
    assertEquals("panel 'N = 10': values: 1 rows (expected: one per series, 2)", e.getMessage());
  }

  @Test
  void panel_negativeValue_throwsNamingSeriesAndGroup() {
    BarChart chart = BarChart.titled("t").series("a");
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> chart.panel("p", List.of("x"), new double[][] {{-1}}, null));
    assertEquals("panel 'p': a/x: -1.0 (expected: finite and >= 0, or NaN)", e.getMessage());
  }

  @Test
  void series_badColor_throws() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> BarChart.titled("t").series("a", "red"));
    assertEquals("color: 'red' (expected: #rrggbb)", e.getMessage());
  }

  @Test
  void plain_fourSignificantDigitsNoExponent() {
    assertEquals("0.001", BarChart.plain(0.001));
    assertEquals("12.35", BarChart.plain(12.345678));
    assertEquals("47000", BarChart.plain(47000));
    assertEquals("0", BarChart.plain(0));
  }
}
