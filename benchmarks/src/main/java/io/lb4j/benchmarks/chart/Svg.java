package io.lb4j.benchmarks.chart;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Locale;

/**
 * A small SVG writer for charts meant to be read as images in GitHub's Markdown viewer: a {@code
 * viewBox} (scales with the page), a white background (readable in a dark theme too), the generic
 * {@code sans-serif} family (no external fonts), no scripts, no styles, no external references.
 * Every text and attribute value is escaped; characters XML 1.0 does not allow become U+FFFD.
 *
 * <p>Elements are written in order: {@link #open} and {@link #close} nest groups, the other methods
 * write one element. Coordinates are rounded to 0.01.
 *
 * <p>Not thread-safe.
 */
public final class Svg {
  private final StringBuilder out = new StringBuilder(16 * 1024);
  private final Deque<String> open = new ArrayDeque<>();
  private boolean finished;

  /**
   * Starts a document of the given size in user units (also its default size in pixels).
   *
   * @param title the document's title, shown by viewers as its name and read by screen readers
   */
  public Svg(double width, double height, String title) {
    if (!(width > 0) || !(height > 0) || Double.isInfinite(width) || Double.isInfinite(height)) {
      throw new IllegalArgumentException(
          "size: " + width + " x " + height + " (expected: finite and > 0)");
    }
    out.append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.append("<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" viewBox=\"0 0 ")
        .append(num(width))
        .append(' ')
        .append(num(height))
        .append("\" width=\"")
        .append(num(width))
        .append("\" height=\"")
        .append(num(height))
        .append("\" font-family=\"sans-serif\" font-size=\"12\">\n");
    out.append("<title>").append(escape(title)).append("</title>\n");
    out.append("<rect x=\"0\" y=\"0\" width=\"")
        .append(num(width))
        .append("\" height=\"")
        .append(num(height))
        .append("\" fill=\"#ffffff\"/>\n");
  }

  /** Opens a group ({@code <g>}) with the given attributes, name-value pairs. */
  public Svg open(String... attributes) {
    start("g", attributes);
    out.append(">\n");
    open.push("g");
    return this;
  }

  /** Closes the innermost open group. */
  public Svg close() {
    checkOpen();
    if (open.isEmpty()) {
      throw new IllegalStateException("close: no group is open");
    }
    out.append("</").append(open.pop()).append(">\n");
    return this;
  }

  /**
   * A rectangle; {@code tooltip}, when not null, becomes its {@code <title>} (shown on hover where
   * the SVG is opened by itself, and read by screen readers).
   */
  public Svg rect(
      double x, double y, double w, double h, String fill, String tooltip, String... attributes) {
    start("rect", attributes);
    attr("x", num(x)).attr("y", num(y)).attr("width", num(w)).attr("height", num(h));
    attr("fill", fill);
    return endWithTitle("rect", tooltip);
  }

  /** A line; {@code dash} is a {@code stroke-dasharray} or null for a solid line. */
  public Svg line(
      double x1,
      double y1,
      double x2,
      double y2,
      String stroke,
      double strokeWidth,
      String dash,
      String tooltip,
      String... attributes) {
    start("line", attributes);
    attr("x1", num(x1)).attr("y1", num(y1)).attr("x2", num(x2)).attr("y2", num(y2));
    attr("stroke", stroke).attr("stroke-width", num(strokeWidth));
    if (dash != null) {
      attr("stroke-dasharray", dash);
    }
    return endWithTitle("line", tooltip);
  }

  /** Where a text's {@code x} is: its start, middle or end. */
  public enum Anchor {
    START,
    MIDDLE,
    END
  }

  /** A line of text with its baseline at {@code y}. */
  public Svg text(
      double x,
      double y,
      String text,
      Anchor anchor,
      double size,
      boolean bold,
      String fill,
      String... attributes) {
    return text(x, y, 0, text, anchor, size, bold, fill, attributes);
  }

  /** A line of text rotated by {@code degrees} (clockwise) about its anchor point. */
  public Svg text(
      double x,
      double y,
      double degrees,
      String text,
      Anchor anchor,
      double size,
      boolean bold,
      String fill,
      String... attributes) {
    start("text", attributes);
    attr("x", num(x)).attr("y", num(y));
    if (anchor != Anchor.START) {
      attr("text-anchor", anchor.name().toLowerCase(Locale.ROOT));
    }
    attr("font-size", num(size));
    if (bold) {
      attr("font-weight", "bold");
    }
    attr("fill", fill);
    if (degrees != 0) {
      attr("transform", "rotate(" + num(degrees) + " " + num(x) + " " + num(y) + ")");
    }
    out.append('>').append(escape(text)).append("</text>\n");
    return this;
  }

  /** Closes the document and returns it; nothing can be added afterwards. */
  public String finish() {
    checkOpen();
    if (!open.isEmpty()) {
      throw new IllegalStateException("finish: " + open.size() + " group(s) still open");
    }
    finished = true;
    out.append("</svg>\n");
    return out.toString();
  }

  /**
   * Escapes text for XML content and attribute values: {@code & < > " '}, and replaces what XML 1.0
   * does not allow (control characters other than tab, LF and CR, unpaired surrogates, U+FFFE and
   * U+FFFF) with U+FFFD.
   */
  public static String escape(CharSequence text) {
    StringBuilder b = new StringBuilder(text.length() + 16);
    for (int i = 0; i < text.length(); ) {
      int cp = Character.codePointAt(text, i);
      i += Character.charCount(cp);
      switch (cp) {
        case '&':
          b.append("&amp;");
          break;
        case '<':
          b.append("&lt;");
          break;
        case '>':
          b.append("&gt;");
          break;
        case '"':
          b.append("&quot;");
          break;
        case '\'':
          b.append("&apos;");
          break;
        default:
          boolean allowed =
              cp == '\t'
                  || cp == '\n'
                  || cp == '\r'
                  || (cp >= 0x20 && cp <= 0xD7FF)
                  || (cp >= 0xE000 && cp <= 0xFFFD)
                  || (cp >= 0x10000 && cp <= 0x10FFFF);
          if (allowed) {
            b.appendCodePoint(cp);
          } else {
            b.append('\uFFFD');
          }
      }
    }
    return b.toString();
  }

  /** A coordinate or number as SVG writes it: at most two decimals, no exponent, "." always. */
  public static String num(double v) {
    if (!Double.isFinite(v)) {
      throw new IllegalArgumentException("coordinate: " + v + " (expected: a finite number)");
    }
    String s = String.format(Locale.ROOT, "%.2f", v);
    if (s.indexOf('.') >= 0) {
      int end = s.length();
      while (s.charAt(end - 1) == '0') {
        end--;
      }
      if (s.charAt(end - 1) == '.') {
        end--;
      }
      s = s.substring(0, end);
    }
    return s.equals("-0") ? "0" : s;
  }

  private void start(String element, String... attributes) {
    checkOpen();
    if (attributes.length % 2 != 0) {
      throw new IllegalArgumentException(
          "attributes: " + attributes.length + " strings (expected: name-value pairs)");
    }
    out.append('<').append(element);
    for (int i = 0; i < attributes.length; i += 2) {
      attr(attributes[i], attributes[i + 1]);
    }
  }

  private Svg attr(String name, String value) {
    if (!name.matches("[a-zA-Z][a-zA-Z0-9:-]*")) {
      throw new IllegalArgumentException(
          "attribute name: '" + name + "' (expected: letters, digits, '-' or ':')");
    }
    out.append(' ').append(name).append("=\"").append(escape(value)).append('"');
    return this;
  }

  private Svg endWithTitle(String element, String tooltip) {
    if (tooltip == null) {
      out.append("/>\n");
    } else {
      out.append("><title>")
          .append(escape(tooltip))
          .append("</title></")
          .append(element)
          .append(">\n");
    }
    return this;
  }

  private void checkOpen() {
    if (finished) {
      throw new IllegalStateException("the document is finished");
    }
  }
}
