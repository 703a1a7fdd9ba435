package io.lb4j.benchmarks.chart;

import io.lb4j.benchmarks.chart.Svg.Anchor;
import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.DoubleFunction;

/**
 * A grouped vertical bar chart, one or more panels stacked on one value axis: each panel has its
 * groups along the x axis and one bar per series in each group; optionally a marker per group (a
 * black bar-wide line, e.g. the ideal value) and a dashed reference line across every panel.
 *
 * <p>The value axis is linear from 0 or logarithmic (whole decades), shared by all panels so that
 * they compare. In the SVG every bar is a {@code <rect class="bar">} with {@code data-series},
 * {@code data-group} and {@code data-value} attributes and a {@code <title>} tooltip; markers are
 * {@code <line class="marker">}; panels are {@code <g class="panel">}.
 *
 * <p>Not thread-safe.
 */
public final class BarChart {
  /** How values map to heights. */
  public enum Scale {
    /** From 0 to a rounded maximum. */
    LINEAR,
    /** Whole decades around the positive values; a value ≤ 0 draws no height. */
    LOG
  }

  /** Okabe and Ito's colour-blind-safe palette ("Color Universal Design", 2008). */
  private static final String[] PALETTE = {
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999"
  };

  private static final double WIDTH = 800;
  private static final double LEFT = 72;
  private static final double RIGHT = 16;
  private static final double CHAR_WIDTH = 0.6; // of the font size: a generous sans-serif average
  private static final double LABEL_SIZE = 11;

  private final String title;
  private String subtitle;
  private final List<String> seriesNames = new ArrayList<>();
  private final List<String> seriesColors = new ArrayList<>();
  private String axisLabel = "";
  private Scale scale = Scale.LINEAR;
  private DoubleFunction<String> format = BarChart::plain;
  private String markerLabel;
  private double reference = Double.NaN;
  private String referenceLabel;
  private boolean valueLabels;
  private double plotHeight = 180;
  private final List<Panel> panels = new ArrayList<>();

  private record Panel(String title, List<String> groups, double[][] values, double[] markers) {}

  private BarChart(String title) {
    this.title = title;
  }

  /** A chart with this title. */
  public static BarChart titled(String title) {
    return new BarChart(nonBlank("title", title));
  }

  /** A line under the title: where the figures come from. */
  public BarChart subtitle(String subtitle) {
    this.subtitle = subtitle;
    return this;
  }

  /** Adds a series (one bar per group) in the palette's next colour. */
  public BarChart series(String name) {
    return series(name, PALETTE[seriesNames.size() % PALETTE.length]);
  }

  /** Adds a series (one bar per group) in the given colour, e.g. {@code "#0072B2"}. */
  public BarChart series(String name, String color) {
    if (!color.matches("#[0-9a-fA-F]{6}")) {
      throw new IllegalArgumentException("color: '" + color + "' (expected: #rrggbb)");
    }
    seriesNames.add(nonBlank("series", name));
    seriesColors.add(color);
    return this;
  }

  /** The value axis: its label, scale and how a value is written (ticks, tooltips, labels). */
  public BarChart axis(String label, Scale scale, DoubleFunction<String> format) {
    this.axisLabel = label;
    this.scale = scale;
    this.format = format;
    return this;
  }

  /** Each panel gives a marker per group, named so in the legend. */
  public BarChart markers(String legendLabel) {
    this.markerLabel = nonBlank("markers", legendLabel);
    return this;
  }

  /** A dashed line at {@code value} across every panel, labelled at its right end. */
  public BarChart referenceLine(double value, String label) {
    if (!Double.isFinite(value) || value < 0) {
      throw new IllegalArgumentException("reference: " + value + " (expected: finite and >= 0)");
    }
    this.reference = value;
    this.referenceLabel = label;
    return this;
  }

  /** Writes each bar's value above it. */
  public BarChart valueLabels(boolean on) {
    this.valueLabels = on;
    return this;
  }

  /** The height of each panel's plot area (120 to 600). */
  public BarChart plotHeight(double height) {
    if (!(height >= 120 && height <= 600)) {
      throw new IllegalArgumentException("plotHeight: " + height + " (expected: 120 to 600)");
    }
    this.plotHeight = height;
    return this;
  }

  /**
   * Adds a panel.
   *
   * @param groups the x axis labels; a {@code '\n'} starts a new line
   * @param values {@code values[series][group]}, finite and ≥ 0, or NaN for no bar
   * @param markers one value per group (NaN: none), or null; only with {@link #markers}
   */
  public BarChart panel(String title, List<String> groups, double[][] values, double[] markers) {
    if (seriesNames.isEmpty()) {
      throw new IllegalStateException("panel '" + title + "': add the series first");
    }
    if (groups.isEmpty()) {
      throw new IllegalArgumentException("panel '" + title + "': groups: [] (expected: some)");
    }
    if (values.length != seriesNames.size()) {
      throw new IllegalArgumentException(
          "panel '"
              + title
              + "': values: "
              + values.length
              + " rows (expected: one per series, "
              + seriesNames.size()
              + ")");
    }
    double[][] copy = new double[values.length][];
    for (int s = 0; s < values.length; s++) {
      if (values[s].length != groups.size()) {
        throw new IllegalArgumentException(
            "panel '"
                + title
                + "': values of '"
                + seriesNames.get(s)
                + "': "
                + values[s].length
                + " (expected: one per group, "
                + groups.size()
                + ")");
      }
      for (int g = 0; g < groups.size(); g++) {
        checkValue(title, seriesNames.get(s) + "/" + groups.get(g), values[s][g]);
      }
      copy[s] = values[s].clone();
    }
    if (markers != null) {
      if (markerLabel == null) {
        throw new IllegalStateException("panel '" + title + "': markers given but not named");
      }
      if (markers.length != groups.size()) {
        throw new IllegalArgumentException(
            "panel '"
                + title
                + "': markers: "
                + markers.length
                + " (expected: one per group, "
                + groups.size()
                + ")");
      }
      for (int g = 0; g < groups.size(); g++) {
        checkValue(title, "marker/" + groups.get(g), markers[g]);
      }
    }
    panels.add(
        new Panel(title, List.copyOf(groups), copy, markers == null ? null : markers.clone()));
    return this;
  }

  /** Lays the chart out and writes it. */
  public String toSvg() {
    if (panels.isEmpty()) {
      throw new IllegalStateException("chart '" + title + "': no panels");
    }
    double[] range = range();
    double plotW = WIDTH - LEFT - RIGHT;

    // header: title, subtitle, legend rows
    double y = 26;
    double titleY = y;
    double subtitleY = 0;
    if (subtitle != null) {
      y += 18;
      subtitleY = y;
    }
    List<String> legendNames = new ArrayList<>(seriesNames);
    if (markerLabel != null) {
      legendNames.add(markerLabel);
    }
    if (referenceLabel != null) {
      legendNames.add(referenceLabel);
    }
    List<double[]> legendAt = new ArrayList<>();
    double lx = LEFT;
    y += 22;
    for (String name : legendNames) {
      double w = 18 + textWidth(name, 12) + 18;
      if (lx > LEFT && lx + w > WIDTH - RIGHT) {
        lx = LEFT;
        y += 18;
      }
      legendAt.add(new double[] {lx, y});
      lx += w;
    }
    y += 12;

    // panels
    List<List<List<String>>> wrapped = new ArrayList<>();
    double[] panelTop = new double[panels.size()];
    for (int p = 0; p < panels.size(); p++) {
      Panel panel = panels.get(p);
      double groupW = plotW / panel.groups.size();
      List<List<String>> lines = new ArrayList<>();
      int maxLines = 1;
      for (String g : panel.groups) {
        List<String> l = wrap(g, groupW - 4, LABEL_SIZE);
        lines.add(l);
        maxLines = Math.max(maxLines, l.size());
      }
      wrapped.add(lines);
      y += panel.title.isEmpty() ? 8 : 26;
      panelTop[p] = y;
      y += plotHeight + 6 + maxLines * (LABEL_SIZE + 3) + 10;
    }
    double height = y + 4;

    Svg svg = new Svg(WIDTH, height, title);
    svg.text(LEFT, titleY, title, Anchor.START, 16, true, "#111111", "class", "chart-title");
    if (subtitle != null) {
      svg.text(LEFT, subtitleY, subtitle, Anchor.START, 12, false, "#444444", "class", "subtitle");
    }
    svg.open("class", "legend");
    for (int i = 0; i < legendNames.size(); i++) {
      double[] at = legendAt.get(i);
      String name = legendNames.get(i);
      if (i < seriesNames.size()) {
        svg.rect(at[0], at[1] - 10, 12, 12, seriesColors.get(i), null);
      } else if (markerLabel != null && i == seriesNames.size()) {
        svg.line(at[0], at[1] - 4, at[0] + 12, at[1] - 4, "#000000", 3, null, null);
      } else {
        svg.line(at[0], at[1] - 4, at[0] + 12, at[1] - 4, "#333333", 1.5, "4 3", null);
      }
      svg.text(at[0] + 18, at[1], name, Anchor.START, 12, false, "#111111");
    }
    svg.close();

    for (int p = 0; p < panels.size(); p++) {
      drawPanel(svg, panels.get(p), wrapped.get(p), panelTop[p], plotW, range);
    }
    return svg.finish();
  }

  private void drawPanel(
      Svg svg, Panel panel, List<List<String>> labels, double top, double plotW, double[] range) {
    double bottom = top + plotHeight;
    double right = LEFT + plotW;
    svg.open("class", "panel", "data-title", panel.title);
    if (!panel.title.isEmpty()) {
      svg.text(
          LEFT, top - 9, panel.title, Anchor.START, 13, true, "#111111", "class", "panel-title");
    }
    // grid and ticks
    for (double t : ticks(range)) {
      double ty = y(t, top, range);
      svg.line(LEFT, ty, right, ty, "#e4e4e4", 1, null, null);
      svg.text(
          LEFT - 6, ty + 4, format.apply(t), Anchor.END, 11, false, "#333333", "class", "tick");
    }
    svg.text(
        16,
        top + plotHeight / 2,
        -90,
        axisLabel,
        Anchor.MIDDLE,
        12,
        false,
        "#111111",
        "class",
        "axis-label");
    if (!Double.isNaN(reference)) {
      double ry = y(reference, top, range);
      svg.line(LEFT, ry, right, ry, "#333333", 1.5, "4 3", null, "class", "reference");
    }
    // bars, then their labels over them (with a white halo, readable across the reference line)
    int groups = panel.groups.size();
    int series = seriesNames.size();
    double groupW = plotW / groups;
    double barW = groupW * 0.8 / series;
    for (int g = 0; g < groups; g++) {
      double gx = LEFT + g * groupW + groupW * 0.1;
      String group = panel.groups.get(g).replace('\n', ' ');
      for (int s = 0; s < series; s++) {
        double v = panel.values[s][g];
        if (Double.isNaN(v)) {
          continue;
        }
        double by = y(v, top, range);
        double x = gx + s * barW + barW * 0.05;
        svg.rect(
            x,
            by,
            barW * 0.9,
            bottom - by,
            seriesColors.get(s),
            group + ": " + seriesNames.get(s) + " " + format.apply(v),
            "class",
            "bar",
            "data-series",
            seriesNames.get(s),
            "data-group",
            group,
            "data-value",
            Double.toString(v));
      }
      if (panel.markers != null && !Double.isNaN(panel.markers[g])) {
        double my = y(panel.markers[g], top, range);
        svg.line(
            gx,
            my,
            gx + groupW * 0.8,
            my,
            "#000000",
            2.5,
            null,
            group + ": " + markerLabel + " " + format.apply(panel.markers[g]),
            "class",
            "marker",
            "data-group",
            group,
            "data-value",
            Double.toString(panel.markers[g]));
      }
      List<String> lines = labels.get(g);
      for (int i = 0; i < lines.size(); i++) {
        svg.text(
            LEFT + (g + 0.5) * groupW,
            bottom + 6 + (i + 1) * (LABEL_SIZE + 3) - 3,
            lines.get(i),
            Anchor.MIDDLE,
            LABEL_SIZE,
            false,
            "#111111",
            "class",
            "group-label");
      }
    }
    for (int g = 0; valueLabels && g < groups; g++) {
      for (int s = 0; s < series; s++) {
        double v = panel.values[s][g];
        if (Double.isNaN(v)) {
          continue;
        }
        double x = LEFT + g * groupW + groupW * 0.1 + s * barW + barW * 0.05;
        svg.text(
            x + barW * 0.45,
            y(v, top, range) - 3,
            format.apply(v),
            Anchor.MIDDLE,
            Math.min(10, Math.max(7, barW * 0.9 / 3)),
            false,
            "#222222",
            "class",
            "value",
            "stroke",
            "#ffffff",
            "stroke-width",
            "3",
            "paint-order",
            "stroke");
      }
    }
    svg.line(LEFT, bottom, right, bottom, "#111111", 1, null, null);
    svg.line(LEFT, top, LEFT, bottom, "#111111", 1, null, null);
    svg.close();
  }

  /** {lo, hi, step between ticks (LINEAR)} of the value axis. */
  private double[] range() {
    double max = 0;
    double minPositive = Double.POSITIVE_INFINITY;
    for (Panel p : panels) {
      for (double[] row : p.values) {
        for (double v : row) {
          if (!Double.isNaN(v)) {
            max = Math.max(max, v);
            minPositive = v > 0 ? Math.min(minPositive, v) : minPositive;
          }
        }
      }
      if (p.markers != null) {
        for (double v : p.markers) {
          if (!Double.isNaN(v)) {
            max = Math.max(max, v);
            minPositive = v > 0 ? Math.min(minPositive, v) : minPositive;
          }
        }
      }
    }
    if (!Double.isNaN(reference)) {
      max = Math.max(max, reference);
      minPositive = reference > 0 ? Math.min(minPositive, reference) : minPositive;
    }
    if (scale == Scale.LOG) {
      if (minPositive == Double.POSITIVE_INFINITY) {
        return new double[] {1, 10, 0};
      }
      double lo = Math.pow(10, Math.floor(Math.log10(minPositive)));
      double hi = Math.pow(10, Math.ceil(Math.log10(max)));
      return new double[] {lo, hi > lo ? hi : lo * 10, 0};
    }
    if (max == 0) {
      return new double[] {0, 1, 0.2};
    }
    // headroom for value labels above the tallest bar
    double top = max * (valueLabels ? 1.08 : 1);
    double step = niceStep(top / 8);
    return new double[] {0, Math.ceil(top / step - 1e-9) * step, step};
  }

  private List<Double> ticks(double[] range) {
    List<Double> ticks = new ArrayList<>();
    if (scale == Scale.LOG) {
      for (double t = range[0]; t <= range[1] * 1.0001; t *= 10) {
        ticks.add(t);
      }
    } else {
      double step = range[2];
      for (int i = 0; i * step <= range[1] * 1.0001; i++) {
        ticks.add(BigDecimal.valueOf(i * step).round(new MathContext(12)).doubleValue());
      }
    }
    return ticks;
  }

  private double y(double v, double top, double[] range) {
    double f;
    if (scale == Scale.LOG) {
      f =
          v <= range[0]
              ? 0
              : (Math.log10(v) - Math.log10(range[0]))
                  / (Math.log10(range[1]) - Math.log10(range[0]));
    } else {
      f = v / range[1];
    }
    return top + plotHeight * (1 - Math.min(1, Math.max(0, f)));
  }

  /** 1, 2, 2.5 or 5 times a power of ten, at least {@code raw}. */
  static double niceStep(double raw) {
    double p = Math.pow(10, Math.floor(Math.log10(raw)));
    for (double m : new double[] {1, 2, 2.5, 5, 10}) {
      if (m * p >= raw * 0.9999) {
        return m * p;
      }
    }
    return 10 * p;
  }

  /** A number with up to four significant digits, no exponent, no trailing zeros. */
  public static String plain(double v) {
    if (v == 0) {
      return "0";
    }
    BigDecimal d = new BigDecimal(v).round(new MathContext(4, RoundingMode.HALF_EVEN));
    return d.stripTrailingZeros().toPlainString();
  }

  /** {@link #plain} with a suffix, e.g. {@code "%"}. */
  public static DoubleFunction<String> suffixed(String suffix) {
    return v -> plain(v) + suffix;
  }

  /** {@code v} to {@code decimals} decimals. */
  public static DoubleFunction<String> fixed(int decimals) {
    return v -> String.format(Locale.ROOT, "%." + decimals + "f", v);
  }

  private static List<String> wrap(String label, double width, double size) {
    List<String> lines = new ArrayList<>();
    for (String paragraph : label.split("\n", -1)) {
      StringBuilder line = new StringBuilder();
      for (String word : paragraph.split(" ")) {
        if (line.length() > 0 && textWidth(line + " " + word, size) > width) {
          lines.add(line.toString());
          line.setLength(0);
        }
        if (line.length() > 0) {
          line.append(' ');
        }
        line.append(word);
      }
      lines.add(line.toString());
    }
    return lines;
  }

  private static double textWidth(String s, double size) {
    return s.codePointCount(0, s.length()) * size * CHAR_WIDTH;
  }

  private void checkValue(String panel, String what, double v) {
    if (Double.isNaN(v)) {
      return;
    }
    if (Double.isInfinite(v) || v < 0) {
      throw new IllegalArgumentException(
          "panel '" + panel + "': " + what + ": " + v + " (expected: finite and >= 0, or NaN)");
    }
  }

  private static String nonBlank(String what, String s) {
    if (s == null || s.isBlank()) {
      throw new IllegalArgumentException(what + ": '" + s + "' (expected: a non-blank name)");
    }
    return s;
  }
}
