package io.lb4j.benchmarks.chart;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NamedNodeMap;
import org.w3c.dom.NodeList;

/** Test helper: parses an SVG strictly and finds elements in it. */
public final class SvgDocs {
  private static final String SVG_NS = "http://www.w3.org/2000/svg";

  /** What GitHub's image viewer would not show, or what would fetch or run something. */
  private static final Set<String> FORBIDDEN =
      Set.of("script", "image", "use", "foreignObject", "style", "a", "iframe");

  private SvgDocs() {}

  /**
   * Parses {@code svg} with the JDK's XML parser (namespace-aware, no DOCTYPE allowed), fails on
   * anything not well-formed, and checks it is self-contained: an {@code svg} root in the SVG
   * namespace with a {@code viewBox}, no scripts, styles, links or external references.
   */
  public static Document parse(String svg) {
    Document doc;
    try {
      DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
      f.setNamespaceAware(true);
      f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
      f.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
      DocumentBuilder b = f.newDocumentBuilder();
      doc = b.parse(new ByteArrayInputStream(svg.getBytes(StandardCharsets.UTF_8)));
    } catch (Exception e) {
      throw new AssertionError("not well-formed XML: " + e.getMessage() + "\n" + head(svg), e);
    }
    Element root = doc.getDocumentElement();
    assertEquals("svg", root.getLocalName(), "root element");
    assertEquals(SVG_NS, root.getNamespaceURI(), "root namespace");
    assertFalse(root.getAttribute("viewBox").isEmpty(), "viewBox");
    NodeList all = doc.getElementsByTagNameNS("*", "*");
    for (int i = 0; i < all.getLength(); i++) {
      Element e = (Element) all.item(i);
      if (FORBIDDEN.contains(e.getLocalName())) {
        fail("forbidden element <" + e.getLocalName() + ">");
      }
      NamedNodeMap attributes = e.getAttributes();
      for (int a = 0; a < attributes.getLength(); a++) {
        String name = attributes.item(a).getNodeName().toLowerCase(Locale.ROOT);
        String value = attributes.item(a).getNodeValue().toLowerCase(Locale.ROOT);
        if (name.contains("href") || name.startsWith("on") || value.contains("url(")) {
          fail("external reference or handler: " + name + "=\"" + value + "\"");
        }
      }
    }
    return doc;
  }

  /** The elements named {@code tag} under {@code scope} whose class is {@code cssClass}. */
  public static List<Element> byClass(Element scope, String tag, String cssClass) {
    List<Element> out = new ArrayList<>();
    NodeList nodes = scope.getElementsByTagNameNS(SVG_NS, tag);
    for (int i = 0; i < nodes.getLength(); i++) {
      Element e = (Element) nodes.item(i);
      if (List.of(e.getAttribute("class").split(" ")).contains(cssClass)) {
        out.add(e);
      }
    }
    return out;
  }

  /** The text of every {@code <text>} element under {@code scope}. */
  public static List<String> texts(Element scope) {
    List<String> out = new ArrayList<>();
    NodeList nodes = scope.getElementsByTagNameNS(SVG_NS, "text");
    for (int i = 0; i < nodes.getLength(); i++) {
      out.add(nodes.item(i).getTextContent());
    }
    return out;
  }

  /** A numeric attribute. */
  public static double number(Element e, String attribute) {
    return Double.parseDouble(e.getAttribute(attribute));
  }

  private static String head(String s) {
    return s.length() > 600 ? s.substring(0, 600) + "..." : s;
  }
}
