package io.lb4j.benchmarks.sim;

import io.lb4j.SelectionAlgorithm;
import io.lb4j.SelectionPolicy;
import io.lb4j.benchmarks.chart.BarChart;
import io.lb4j.core.select.Selectors;
import io.lb4j.spi.BackendSelector;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Distribution quality of every consistent-hash algorithm, deterministic from fixed seeds: load
 * balance (max/mean and relative standard deviation of flows per backend) for N ∈ {10, 100, 1000},
 * the share of flows that move when 1 backend, 1% and 10% of the backends leave, when one joins and
 * when one's weight doubles, each next to the ideal; each backend's share against its weight for N
 * = 10, equal and unequal weights; and the Maglev paper's Fig. 12 setup (N = 1000, 1% removed, M ∈
 * {65537, 655373}).
 *
 * <pre>
 * {@code java -cp benchmarks/target/benchmarks.jar io.lb4j.benchmarks.sim.DistributionReport \
 *     [flows] [--sizes 10,100,1000] [--out DIR]}
 * </pre>
 *
 * <p>It prints CSV tables. With {@code --out} it also writes {@code DIR/distribution-report.md}
 * (the same tables in Markdown) and, referenced from it, SVG charts: {@code moved.svg} (the share
 * of flows moved per change, per algorithm, against the ideal) and {@code shares-equal.svg}, {@code
 * shares-weighted.svg} (each backend's share of flows against its share of the weights).
 *
 * <p>A backend "leaves" as lb4j drains it: it stays a member with weight 0 (for jump hash a
 * tombstone; the others skip it, which is the same as removing it). Loads are sampled over the
 * given number of flows (1,000,000 by default); the sampling noise floor, sqrt(N / flows), is
 * printed next to the standard deviation.
 */
public final class DistributionReport {
  private static final long SEED = 20261121;
  private static final String[] ALGORITHMS = {
    "MAGLEV-65537", "MAGLEV-655373", "RING_HASH-160", "RENDEZVOUS", "JUMP"
  };
  private static final String[] NAMES = {
    "Maglev M=65537", "Maglev M=655373", "ring, 160 points", "rendezvous", "jump"
  };

  /** The membership changes measured per row, in the order of {@link Row#moved}. */
  static final List<String> CHANGES =
      List.of(
          "1 leaves",
          "1% leave",
          "10% leave",
          "1 joins",
          "1 re-weighted 1→2",
          "1 re-weighted 1→2, largest weight fixed");

  /** Pool size of the share charts: one bar per backend stays readable. */
  static final int SHARE_N = 10;

  /** The unequal weights of the second share chart; the last backend drained (weight 0). */
  static final int[] SHARE_WEIGHTS = {1, 1, 2, 2, 3, 3, 4, 4, 5, 0};

  static final String MARKDOWN = "distribution-report.md";
  static final String MOVED_SVG = "moved.svg";
  static final String SHARES_EQUAL_SVG = "shares-equal.svg";
  static final String SHARES_WEIGHTED_SVG = "shares-weighted.svg";

  /** One algorithm at one pool size: balance, and the share moved by each of {@link #CHANGES}. */
  record Row(
      String algorithm,
      int n,
      double maxOverMean,
      double relStdDev,
      double noiseFloor,
      double[] moved,
      double[] ideal) {}

  /** Flows per backend of one algorithm under one weight scenario. */
  record Shares(String scenario, String algorithm, int[] weights, long[] counts) {}

  /** One table size of the Maglev paper's Fig. 12 setup. */
  record Fig12(int tableSize, double excess, double total, String paper) {}

  /** Everything the report measured. */
  record Report(
      int flows, List<Row> rows, List<Shares> shares, int fig12Flows, List<Fig12> fig12) {}

  private DistributionReport() {}

  public static void main(String[] args) throws IOException {
    int flows = 1_000_000;
    int[] sizes = {10, 100, 1000};
    Path out = null;
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      if (a.equals("--out") || a.equals("--sizes")) {
        if (i + 1 == args.length) {
          throw new IllegalArgumentException(a + ": missing value (expected: " + a + " VALUE)");
        }
        String v = args[++i];
        if (a.equals("--out")) {
          out = Path.of(v);
        } else {
          sizes = parseSizes(v);
        }
      } else if (i == 0 && !a.startsWith("-")) {
        flows = positive("flows", a);
      } else {
        throw new IllegalArgumentException(
            "argument: '" + a + "' (expected: [flows] [--sizes N,N,...] [--out DIR])");
      }
    }
    Report report = run(flows, sizes, Math.max(flows, 2_000_000));
    printCsv(report, System.out);
    if (out != null) {
      for (Path p : write(report, out)) {
        System.out.println("# wrote " + p);
      }
    }
  }

  static int[] parseSizes(String value) {
    String[] parts = value.split(",", -1);
    int[] sizes = new int[parts.length];
    for (int i = 0; i < parts.length; i++) {
      sizes[i] = positive("--sizes", parts[i].trim());
    }
    return sizes;
  }

  private static int positive(String what, String value) {
    try {
      int v = Integer.parseInt(value);
      if (v > 0) {
        return v;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new IllegalArgumentException(
        what + ": '" + value + "' (expected: a positive integer, at most 2147483647)");
  }

  /**
   * Measures everything.
   *
   * @param flows seeded flow hashes for balance, disruption and shares
   * @param sizes pool sizes of the balance and disruption rows
   * @param fig12Flows flows of the Fig. 12 setup (N = 1000, 10 trials per table size); 0 skips it
   */
  static Report run(int flows, int[] sizes, int fig12Flows) {
    long[] hashes = hashes(flows, SEED);
    List<Row> rows = new ArrayList<>();
    for (int n : sizes) {
      for (String algorithm : ALGORITHMS) {
        if (algorithm.equals("RENDEZVOUS") && n == 1000 && flows > 1_000_000) {
          continue; // O(N) per pick: 10^9+ scores
        }
        rows.add(row(algorithm, n, hashes));
      }
    }
    List<Shares> shares = new ArrayList<>();
    int[] equal = ones(SHARE_N);
    for (String scenario : new String[] {"equal", "weighted"}) {
      int[] weights = scenario.equals("equal") ? equal : SHARE_WEIGHTS;
      for (String algorithm : ALGORITHMS) {
        long[] counts = new long[SHARE_N];
        for (int p : pick(build(algorithm, keys(SHARE_N), weights), hashes)) {
          counts[p]++;
        }
        shares.add(new Shares(scenario, algorithm, weights.clone(), counts));
      }
    }
    List<Fig12> fig12 = fig12Flows > 0 ? fig12(fig12Flows) : List.of();
    return new Report(flows, rows, shares, fig12Flows, fig12);
  }

  private static long[] hashes(int flows, long seed) {
    long[] hashes = new long[flows];
    SplittableRandom random = new SplittableRandom(seed);
    for (int i = 0; i < flows; i++) {
      hashes[i] = random.nextLong();
    }
    return hashes;
  }

  private static BackendSelector build(String algorithm, String[] keys, int[] weights) {
    SelectionPolicy policy;
    switch (algorithm) {
      case "MAGLEV-65537":
        policy = SelectionPolicy.maglev(65537);
        break;
      case "MAGLEV-655373":
        policy = SelectionPolicy.maglev(655373);
        break;
      case "RING_HASH-160":
        policy = SelectionPolicy.ringHash(160);
        break;
      case "RENDEZVOUS":
        policy = SelectionPolicy.of(SelectionAlgorithm.RENDEZVOUS);
        break;
      default:
        policy = SelectionPolicy.of(SelectionAlgorithm.JUMP);
    }
    return Selectors.of(policy, keys, weights, null, null);
  }

  private static String[] keys(int n) {
    String[] keys = new String[n];
    for (int i = 0; i < n; i++) {
      keys[i] = String.format(Locale.ROOT, "backend-%05d", i);
    }
    return keys;
  }

  private static int[] ones(int n) {
    int[] w = new int[n];
    Arrays.fill(w, 1);
    return w;
  }

  private static int[] pick(BackendSelector s, long[] hashes) {
    int[] out = new int[hashes.length];
    for (int i = 0; i < hashes.length; i++) {
      out[i] = s.select(hashes[i]);
    }
    return out;
  }

  private static double moved(int[] before, int[] after) {
    long m = 0;
    for (int i = 0; i < before.length; i++) {
      m += before[i] != after[i] ? 1 : 0;
    }
    return (double) m / before.length;
  }

  private static Row row(String algorithm, int n, long[] hashes) {
    String[] keys = keys(n + 1);
    String[] base = Arrays.copyOf(keys, n);
    int[] picks = pick(build(algorithm, base, ones(n)), hashes);
    long[] counts = new long[n];
    for (int p : picks) {
      counts[p]++;
    }
    double mean = (double) hashes.length / n;
    double max = Arrays.stream(counts).max().getAsLong();
    double var = 0;
    for (long c : counts) {
      var += (c - mean) * (c - mean);
    }
    double relSd = Math.sqrt(var / n) / mean;
    double noise = Math.sqrt(n / (double) hashes.length);

    SplittableRandom random = new SplittableRandom(SEED + n);
    double moved1 = moved(picks, pick(build(algorithm, base, drop(n, 1, random)), hashes));
    int onePct = Math.max(1, n / 100);
    double moved1pct = moved(picks, pick(build(algorithm, base, drop(n, onePct, random)), hashes));
    int tenPct = Math.max(1, n / 10);
    double moved10pct = moved(picks, pick(build(algorithm, base, drop(n, tenPct, random)), hashes));
    // one joins: the last key, so that jump hash adds its last bucket as it must
    int[] withNew = ones(n + 1);
    int[] withoutNew = ones(n + 1);
    withoutNew[n] = 0;
    double movedAdd =
        moved(
            pick(build(algorithm, keys, withoutNew), hashes),
            pick(build(algorithm, keys, withNew), hashes));
    int[] reweighted = ones(n);
    reweighted[n / 2] = 2;
    double movedReweight = moved(picks, pick(build(algorithm, base, reweighted), hashes));
    double idealReweight = 2.0 / (n + 1) - 1.0 / n;
    // the same change while the largest weight stays put: all others at 2, one goes 1 -> 2
    int[] twos = new int[n];
    Arrays.fill(twos, 2);
    twos[n / 2] = 1;
    int[] twosAfter = twos.clone();
    twosAfter[n / 2] = 2;
    double movedSameMax =
        moved(
            pick(build(algorithm, base, twos), hashes),
            pick(build(algorithm, base, twosAfter), hashes));
    double idealSameMax = 2.0 / (2 * n) - 1.0 / (2 * n - 1);
    return new Row(
        algorithm,
        n,
        max / mean,
        relSd,
        noise,
        new double[] {moved1, moved1pct, moved10pct, movedAdd, movedReweight, movedSameMax},
        new double[] {
          1.0 / n,
          (double) onePct / n,
          (double) tenPct / n,
          1.0 / (n + 1),
          idealReweight,
          idealSameMax
        });
  }

  /** Returns weights of 1 with {@code k} distinct random members set to 0. */
  private static int[] drop(int n, int k, SplittableRandom random) {
    int[] w = ones(n);
    for (int removed = 0; removed < k; ) {
      int victim = random.nextInt(n);
      if (w[victim] == 1) {
        w[victim] = 0;
        removed++;
      }
    }
    return w;
  }

  /** The Maglev paper's Fig. 12: N = 1000, 1% removed, excess disruption over 10 trials. */
  private static List<Fig12> fig12(int flows) {
    long[] hashes = new long[flows];
    SplittableRandom random = new SplittableRandom(SEED ^ 12); // the trials' draws continue it
    for (int i = 0; i < flows; i++) {
      hashes[i] = random.nextLong();
    }
    List<Fig12> out = new ArrayList<>();
    int n = 1000;
    String[] keys = keys(n);
    for (int m : new int[] {65537, 655373}) {
      int[] before = pick(build("MAGLEV-" + m, keys, ones(n)), hashes);
      double excess = 0;
      double total = 0;
      for (int t = 0; t < 10; t++) {
        int[] w = drop(n, 10, random);
        int[] after = pick(build("MAGLEV-" + m, keys, w), hashes);
        long e = 0;
        long all = 0;
        for (int i = 0; i < flows; i++) {
          if (before[i] != after[i]) {
            all++;
            e += w[before[i]] == 1 ? 1 : 0;
          }
        }
        excess += (double) e / flows;
        total += (double) all / flows;
      }
      out.add(new Fig12(m, excess / 10, total / 10, m == 65537 ? "~2.3%" : "~0.4-0.8%"));
    }
    return out;
  }

  /** The CSV tables, as the report has always printed them. */
  static void printCsv(Report report, PrintStream out) {
    out.printf(
        Locale.ROOT,
        "# %,d seeded flows; moved = share of flows whose backend"
            + " changed; ideal in brackets%n",
        report.flows());
    out.println(
        "algorithm,N,max/mean,relStdDev,noiseFloor,moved1,ideal1,moved1pct,"
            + "ideal1pct,moved10pct,ideal10pct,movedAdd1,idealAdd1,movedReweight,idealReweight,"
            + "movedReweightSameMax,idealReweightSameMax");
    for (Row r : report.rows()) {
      StringBuilder b = new StringBuilder();
      b.append(
          String.format(
              Locale.ROOT,
              "%s,%d,%.4f,%.4f,%.4f",
              r.algorithm(),
              r.n(),
              r.maxOverMean(),
              r.relStdDev(),
              r.noiseFloor()));
      for (int c = 0; c < CHANGES.size(); c++) {
        b.append(
            String.format(Locale.ROOT, ",%.4f%%,%.4f%%", 100 * r.moved()[c], 100 * r.ideal()[c]));
      }
      out.println(b);
    }
    out.println();
    out.println("# flows per backend, N = " + SHARE_N + ": algorithm,weights,counts");
    for (Shares s : report.shares()) {
      out.println(
          s.algorithm()
              + ","
              + Arrays.toString(s.weights()).replace(", ", " ")
              + ","
              + Arrays.toString(s.counts()).replace(", ", " "));
    }
    if (!report.fig12().isEmpty()) {
      out.println();
      out.println(
          "# Maglev paper Fig. 12: N = 1000, 1% (10) removed, mean of 10 trials;"
              + " excess = flows that moved although their backend survived");
      out.println("tableSize,excess,total,paper");
      for (Fig12 f : report.fig12()) {
        out.printf(
            Locale.ROOT,
            "%d,%.3f%%,%.3f%%,%s%n",
            f.tableSize(),
            100 * f.excess(),
            100 * f.total(),
            f.paper());
      }
    }
  }

  /**
   * Writes {@link #MARKDOWN} and the SVG charts it references into {@code dir} (created if missing)
   * and returns the files written.
   */
  static List<Path> write(Report report, Path dir) throws IOException {
    Files.createDirectories(dir);
    List<Path> written = new ArrayList<>();
    String subtitle =
        String.format(
            Locale.ROOT,
            "DistributionReport, %,d seeded flows (seed %d); deterministic, not machine-dependent",
            report.flows(),
            SEED);
    if (!report.rows().isEmpty()) {
      written.add(writeFile(dir.resolve(MOVED_SVG), movedChart(report, subtitle)));
    }
    written.add(writeFile(dir.resolve(SHARES_EQUAL_SVG), sharesChart(report, "equal", subtitle)));
    written.add(
        writeFile(dir.resolve(SHARES_WEIGHTED_SVG), sharesChart(report, "weighted", subtitle)));
    written.add(writeFile(dir.resolve(MARKDOWN), markdown(report)));
    return written;
  }

  private static Path writeFile(Path file, String text) {
    try {
      return Files.writeString(file, text, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("writing " + file, e);
    }
  }

  /** Per pool size a panel: per change a group, per algorithm a bar; the ideal as a marker. */
  static String movedChart(Report report, String subtitle) {
    BarChart chart =
        BarChart.titled("Flows moved per membership change, against the ideal")
            .subtitle(subtitle)
            .axis("flows moved (log scale)", BarChart.Scale.LOG, BarChart.suffixed("%"))
            .markers("ideal (minimal disruption)")
            .plotHeight(200);
    for (String name : NAMES) {
      chart.series(name);
    }
    for (int n : report.rows().stream().mapToInt(Row::n).distinct().toArray()) {
      double[][] values = new double[ALGORITHMS.length][CHANGES.size()];
      double[] ideal = new double[CHANGES.size()];
      for (double[] v : values) {
        Arrays.fill(v, Double.NaN);
      }
      for (Row r : report.rows()) {
        if (r.n() != n) {
          continue;
        }
        int a = Arrays.asList(ALGORITHMS).indexOf(r.algorithm());
        for (int c = 0; c < CHANGES.size(); c++) {
          values[a][c] = 100 * r.moved()[c];
          ideal[c] = 100 * r.ideal()[c];
        }
      }
      chart.panel(String.format(Locale.ROOT, "N = %,d backends", n), CHANGES, values, ideal);
    }
    return chart.toSvg();
  }

  /** Per algorithm a panel: per backend a group with its observed and its ideal share. */
  static String sharesChart(Report report, String scenario, String subtitle) {
    List<Shares> shares =
        report.shares().stream().filter(s -> s.scenario().equals(scenario)).toList();
    int[] weights = shares.get(0).weights();
    int totalWeight = Arrays.stream(weights).sum();
    BarChart chart =
        BarChart.titled(
                String.format(
                    Locale.ROOT,
                    "Each backend's share of flows against its weight: N = %d, %s weights",
                    SHARE_N,
                    scenario.equals("equal") ? "equal" : "unequal"))
            .subtitle(subtitle)
            .axis("share of flows", BarChart.Scale.LINEAR, BarChart.suffixed("%"))
            .series("observed share", "#0072B2")
            .series("ideal: weight / total weight", "#BBBBBB")
            .plotHeight(140);
    List<String> groups = new ArrayList<>();
    for (int i = 0; i < SHARE_N; i++) {
      groups.add("b" + i + "\nw=" + weights[i]);
    }
    for (Shares s : shares) {
      long flows = Arrays.stream(s.counts()).sum();
      double[][] values = new double[2][SHARE_N];
      double max = 0;
      double maxDeviation = 0;
      for (int i = 0; i < SHARE_N; i++) {
        values[0][i] = 100.0 * s.counts()[i] / flows;
        values[1][i] = 100.0 * weights[i] / totalWeight;
        if (weights[i] > 0) {
          max = Math.max(max, values[0][i] / values[1][i]);
        }
        maxDeviation = Math.max(maxDeviation, Math.abs(values[0][i] - values[1][i]));
      }
      String title =
          String.format(
              Locale.ROOT,
              "%s: largest share ÷ its ideal %.3f, largest gap %.2f points",
              NAMES[Arrays.asList(ALGORITHMS).indexOf(s.algorithm())],
              max,
              maxDeviation);
      chart.panel(title, groups, values, null);
    }
    return chart.toSvg();
  }

  /** The report in Markdown: the tables, the charts beside them. */
  static String markdown(Report report) {
    StringBuilder md = new StringBuilder();
    md.append("# Distribution quality report\n\n");
    md.append(
        String.format(
            Locale.ROOT,
            "Written by `io.lb4j.benchmarks.sim.DistributionReport` from %,d seeded flows (seed %d):"
                + " deterministic, so the figures do not depend on the machine. A backend leaves"
                + " as lb4j drains it (weight 0); \"moved\" is the share of flows whose backend"
                + " changed; the ideal (minimal disruption) is in brackets.%n%n",
            report.flows(),
            SEED));
    if (!report.rows().isEmpty()) {
      md.append("## Balance and disruption\n\n");
      md.append("| algorithm | N | max/mean | rel. sd (noise floor) |");
      for (String c : CHANGES) {
        md.append(' ').append(c).append(" |");
      }
      md.append("\n|---|---|---|---|");
      md.append("---|".repeat(CHANGES.size())).append('\n');
      for (Row r : report.rows()) {
        md.append(
            String.format(
                Locale.ROOT,
                "| %s | %d | %.3f | %.3f (%.3f) |",
                NAMES[Arrays.asList(ALGORITHMS).indexOf(r.algorithm())],
                r.n(),
                r.maxOverMean(),
                r.relStdDev(),
                r.noiseFloor()));
        for (int c = 0; c < CHANGES.size(); c++) {
          md.append(
              String.format(
                  Locale.ROOT, " %.2f%% (%.2f%%) |", 100 * r.moved()[c], 100 * r.ideal()[c]));
        }
        md.append('\n');
      }
      md.append("\n![Flows moved per membership change, per algorithm, against the ideal](")
          .append(MOVED_SVG)
          .append(")\n\n");
    }
    md.append(
        String.format(
            Locale.ROOT,
            "## Each backend's share against its weight (N = %d)%n%n"
                + "Flows per backend; ideal = weight / total weight.%n%n",
            SHARE_N));
    for (String scenario : new String[] {"equal", "weighted"}) {
      List<Shares> shares =
          report.shares().stream().filter(s -> s.scenario().equals(scenario)).toList();
      int[] weights = shares.get(0).weights();
      int totalWeight = Arrays.stream(weights).sum();
      md.append("| algorithm |");
      for (int i = 0; i < SHARE_N; i++) {
        md.append(" b").append(i).append(" (w=").append(weights[i]).append(") |");
      }
      md.append("\n|---|").append("---|".repeat(SHARE_N)).append("\n| ideal |");
      for (int w : weights) {
        md.append(String.format(Locale.ROOT, " %.2f%% |", 100.0 * w / totalWeight));
      }
      md.append('\n');
      for (Shares s : shares) {
        long flows = Arrays.stream(s.counts()).sum();
        md.append("| ")
            .append(NAMES[Arrays.asList(ALGORITHMS).indexOf(s.algorithm())])
            .append(" |");
        for (long c : s.counts()) {
          md.append(String.format(Locale.ROOT, " %.2f%% |", 100.0 * c / flows));
        }
        md.append('\n');
      }
      md.append("\n![Each backend's share of flows against its weight, ")
          .append(scenario.equals("equal") ? "equal" : "unequal")
          .append(" weights](")
          .append(scenario.equals("equal") ? SHARES_EQUAL_SVG : SHARES_WEIGHTED_SVG)
          .append(")\n\n");
    }
    if (!report.fig12().isEmpty()) {
      md.append(
          String.format(
              Locale.ROOT,
              "## Maglev paper, Fig. 12%n%nN = 1000, 1%% (10) removed, mean of 10 trials over"
                  + " %,d flows; excess = flows that moved although their backend survived.%n%n",
              report.fig12Flows()));
      md.append("| table size M | excess | total moved | paper (excess) |\n|---|---|---|---|\n");
      for (Fig12 f : report.fig12()) {
        md.append(
            String.format(
                Locale.ROOT,
                "| %d | %.2f%% | %.2f%% | %s |%n",
                f.tableSize(),
                100 * f.excess(),
                100 * f.total(),
                f.paper().replace("~", "≈")));
      }
    }
    return md.toString();
  }
}
