package io.lb4j.benchmarks.chart;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Renders the end-to-end comparison ({@code benchmarks/e2e.sh}) as an SVG bar chart: lb4j's medians
 * divided by HAProxy's and by nginx's, per test, for lb4j on each transport measured; a dashed line
 * at 1 (the same as the reference); throughput in one panel (higher is better), CPU cost and
 * latency in another (lower is better).
 *
 * <pre>
 * {@code benchmarks/e2e.sh | tee e2e.txt
 * java -cp benchmarks/target/benchmarks.jar io.lb4j.benchmarks.chart.E2eChart e2e.txt e2e.svg}
 * </pre>
 *
 * <p>The input is what {@code e2e.py} prints: it reads the summary table at the end (the line
 * starting {@code median of N rounds} with the column names, then one line per test: its label and
 * a value per column), and the first {@code #} line (date, cores, rounds, lb4j's transport) as the
 * subtitle. Round lines and other {@code #} lines are ignored. Columns named with a {@code /} (the
 * script's own ratios) are recomputed, not read.
 *
 * <p>Stateless and thread-safe.
 */
public final class E2eChart {
  private static final Pattern HEADER = Pattern.compile("^median of (\\d+) rounds\\s+(.*)$");
  private static final Pattern TRANSPORT = Pattern.compile("lb4j transport (\\w+)");
  private static final String HAPROXY = "HAProxy";
  private static final String NGINX = "nginx";
  private static final String LB4J = "lb4j";
  private static final String LB4J_EPOLL = "lb4j-epoll";

  /** Short labels for e2e.py's row labels; an unknown label is used as it is. */
  private static final Map<String, String> SHORT =
      Map.of(
          "bulk, 1 stream (Gbit/s)", "bulk, 1 stream",
          "bulk, 4 streams (Gbit/s)", "bulk, 4 streams",
          "new connections/s (wrk -c32, close)", "new connections/s",
          "keep-alive requests/s (wrk -c64)", "keep-alive requests/s",
          "CPU s per GB, 1 stream", "CPU per GB",
          "CPU us per connection", "CPU per connection",
          "CPU us per request", "CPU per request",
          "keep-alive p50 ms", "keep-alive p50 latency",
          "keep-alive p99 ms", "keep-alive p99 latency");

  private static final Pattern LOWER_IS_BETTER =
      Pattern.compile("(?i)\\bCPU\\b|\\bp\\d\\d\\b|latency");

  /**
   * The medians of one run.
   *
   * @param comment the first {@code #} line without the {@code #}, or ""
   * @param transport lb4j's transport in the column {@code lb4j} (e.g. {@code IO_URING}), or null
   * @param columns the proxies, e.g. {@code [lb4j, HAProxy, nginx, lb4j-epoll]}
   * @param rows per test label (in order) a median per column
   */
  public record Run(
      String comment,
      int rounds,
      String transport,
      List<String> columns,
      Map<String, double[]> rows) {}

  private E2eChart() {}

  /** {@code E2eChart E2E_OUTPUT.txt OUT.svg}: reads e2e.py's output, writes the chart. */
  public static void main(String[] args) throws IOException {
    if (args.length != 2) {
      throw new IllegalArgumentException(
          "arguments: "
              + List.of(args)
              + " (expected: E2E_OUTPUT.txt OUT.svg; the output of benchmarks/e2e.sh)");
    }
    Path in = Path.of(args[0]);
    Run run = parse(in.toString(), Files.readAllLines(in, StandardCharsets.UTF_8));
    Path out = Path.of(args[1]);
    Files.writeString(out, render(run), StandardCharsets.UTF_8);
    System.out.println("wrote " + out);
  }

  /**
   * Reads e2e.py's output.
   *
   * @param source names the input in error messages
   */
  public static Run parse(String source, List<String> lines) {
    String comment = "";
    String transport = null;
    List<String> columns = null;
    int rounds = 0;
    List<String> header = List.of(); // every column, the script's ratios included
    Map<String, double[]> rows = new LinkedHashMap<>();
    List<Integer> keep = new ArrayList<>();
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i).strip();
      if (line.startsWith("#")) {
        if (comment.isEmpty()) {
          comment = line.substring(1).strip();
          Matcher m = TRANSPORT.matcher(comment);
          transport = m.find() ? m.group(1) : null;
        }
        continue;
      }
      Matcher table = HEADER.matcher(line);
      if (table.matches()) {
        rounds = Integer.parseInt(table.group(1));
        String[] names = table.group(2).strip().split("\\s+");
        columns = new ArrayList<>();
        keep.clear();
        rows.clear();
        for (int c = 0; c < names.length; c++) {
          if (!names[c].contains("/")) {
            columns.add(names[c]);
            keep.add(c);
          }
        }
        for (String need : new String[] {LB4J, HAPROXY}) {
          if (!columns.contains(need)) {
            throw new IllegalArgumentException(
                source
                    + ":"
                    + (i + 1)
                    + ": columns "
                    + List.of(names)
                    + " (expected: "
                    + LB4J
                    + " and "
                    + HAPROXY
                    + " among them)");
          }
        }
        header = List.of(names);
        continue;
      }
      if (columns == null || line.isEmpty() || line.startsWith("round ")) {
        continue;
      }
      int count = header.size();
      String[] tokens = line.split("\\s+");
      if (tokens.length <= count) {
        throw new IllegalArgumentException(
            source
                + ":"
                + (i + 1)
                + ": '"
                + line
                + "' has too few fields (expected: a label and "
                + count
                + " values: "
                + String.join(" ", header)
                + ")");
      }
      String label = String.join(" ", List.of(tokens).subList(0, tokens.length - count));
      double[] values = new double[columns.size()];
      for (int c = 0; c < columns.size(); c++) {
        String token = tokens[tokens.length - count + keep.get(c)];
        values[c] = number(source, i + 1, columns.get(c), token);
      }
      rows.put(label, values);
    }
    if (columns == null) {
      throw new IllegalArgumentException(
          source
              + ": no 'median of N rounds' table (expected: the summary e2e.py prints at the end"
              + " of a run)");
    }
    if (rows.isEmpty()) {
      throw new IllegalArgumentException(
          source + ": the 'median of N rounds' table has no rows (expected: one per test)");
    }
    return new Run(
        comment, rounds, transport, List.copyOf(columns), Collections.unmodifiableMap(rows));
  }

  private static double number(String source, int line, String column, String token) {
    String t = token.toLowerCase(Locale.ROOT);
    if (t.equals("nan")) {
      return Double.NaN;
    }
    try {
      double v = Double.parseDouble(t);
      if (Double.isFinite(v) && v >= 0) {
        return v;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new IllegalArgumentException(
        source + ":" + line + ": " + column + ": '" + token + "' (expected: a number >= 0 or nan)");
  }

  /** The chart of a run: every lb4j column divided by HAProxy's and by nginx's. */
  public static String render(Run run) {
    List<String> lb4j = new ArrayList<>();
    for (String c : List.of(LB4J, LB4J_EPOLL)) {
      if (run.columns().contains(c)) {
        lb4j.add(c);
      }
    }
    List<String> references = new ArrayList<>();
    for (String c : List.of(HAPROXY, NGINX)) {
      if (run.columns().contains(c)) {
        references.add(c);
      }
    }
    String[][] colors = {{"#0072B2", "#56B4E9"}, {"#D55E00", "#E69F00"}};
    List<String[]> series = new ArrayList<>(); // {lb4j column, reference column}
    BarChart chart =
        BarChart.titled("lb4j end to end, as a ratio to HAProxy and to nginx")
            .subtitle(
                "benchmarks/e2e.sh, medians: "
                    + (run.comment().isEmpty() ? run.rounds() + " rounds" : run.comment()))
            .axis("lb4j ÷ reference", BarChart.Scale.LINEAR, BarChart.fixed(2))
            .referenceLine(1, "1 = same as the reference")
            .valueLabels(true)
            .plotHeight(170);
    for (int r = 0; r < references.size(); r++) {
      for (int l = 0; l < lb4j.size(); l++) {
        series.add(new String[] {lb4j.get(l), references.get(r)});
        chart.series(
            name(lb4j.get(l), run.transport()) + " ÷ " + references.get(r), colors[r % 2][l % 2]);
      }
    }
    List<String> higher = new ArrayList<>();
    List<String> lower = new ArrayList<>();
    for (String label : run.rows().keySet()) {
      (LOWER_IS_BETTER.matcher(label).find() ? lower : higher).add(label);
    }
    panel(chart, run, "Throughput: higher is better", higher, series);
    panel(chart, run, "CPU and latency: lower is better", lower, series);
    return chart.toSvg();
  }

  private static void panel(
      BarChart chart, Run run, String title, List<String> labels, List<String[]> series) {
    if (labels.isEmpty()) {
      return;
    }
    double[][] values = new double[series.size()][labels.size()];
    List<String> groups = new ArrayList<>();
    for (int g = 0; g < labels.size(); g++) {
      double[] row = run.rows().get(labels.get(g));
      groups.add(SHORT.getOrDefault(labels.get(g), labels.get(g)));
      for (int s = 0; s < series.size(); s++) {
        double lb = row[run.columns().indexOf(series.get(s)[0])];
        double ref = row[run.columns().indexOf(series.get(s)[1])];
        values[s][g] = ref > 0 ? lb / ref : Double.NaN;
      }
    }
    chart.panel(title, groups, values, null);
  }

  private static String name(String column, String transport) {
    if (column.equals(LB4J_EPOLL)) {
      return "lb4j (epoll)";
    }
    return transport == null ? column : column + " (" + transport.toLowerCase(Locale.ROOT) + ")";
  }
}
