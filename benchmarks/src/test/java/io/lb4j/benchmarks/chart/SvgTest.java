package io.lb4j.benchmarks.chart;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lb4j.benchmarks.chart.Svg.Anchor;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;

class SvgTest {

  @Test
  void text_markupQuotesAndControlCharacters_escapedAndWellFormed() {
    String nasty = "a < b && c > \"d\" 'e' </text><script>x</script>\u0001\uD800 ÷ ✓";
    Svg svg = new Svg(200, 100, "title " + nasty);
    svg.open("class", "g " + nasty, "data-x", nasty);
    svg.text(10, 20, nasty, Anchor.START, 12, false, "#000000", "class", "t");
    svg.rect(0, 0, 10, 10, "#ff0000", nasty, "class", "r");
    svg.close();
    Document doc = SvgDocs.parse(svg.finish());

    String expected = "a < b && c > \"d\" 'e' </text><script>x</script>\uFFFD\uFFFD ÷ ✓";
    Element root = doc.getDocumentElement();
    assertEquals(List.of(expected), SvgDocs.texts(root));
    Element rect = SvgDocs.byClass(root, "rect", "r").get(0);
    assertEquals(expected, rect.getTextContent());
    assertEquals(expected, ((Element) rect.getParentNode()).getAttribute("data-x"));
    assertEquals(0, doc.getElementsByTagName("script").getLength());
  }

  @Test
  void num_roundsToHundredthsWithoutExponent() {
    assertEquals("12.35", Svg.num(12.3456));
    assertEquals("0", Svg.num(-0.001));
    assertEquals("1000000", Svg.num(1e6));
    assertEquals("0.5", Svg.num(0.5));
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Svg.num(Double.NaN));
    assertEquals("coordinate: NaN (expected: a finite number)", e.getMessage());
  }

  @Test
  void finish_groupStillOpen_throws() {
    Svg svg = new Svg(10, 10, "t");
    svg.open();
    IllegalStateException e = assertThrows(IllegalStateException.class, svg::finish);
    assertEquals("finish: 1 group(s) still open", e.getMessage());
  }

  @Test
  void new_zeroWidth_throwsNamingTheSize() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> new Svg(0, 10, "t"));
    assertTrue(e.getMessage().startsWith("size: 0.0 x 10.0"), e.getMessage());
  }

  @Test
  void rect_badAttributeName_throws() {
    Svg svg = new Svg(10, 10, "t");
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> svg.rect(0, 0, 1, 1, "#000000", null, "on load", "x"));
    assertEquals(
        "attribute name: 'on load' (expected: letters, digits, '-' or ':')", e.getMessage());
  }
}
