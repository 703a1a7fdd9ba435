package io.lb4j.proxy;

import io.lb4j.AdminState;
import io.lb4j.Backend;
import io.lb4j.BackendHealth;
import io.lb4j.BackendPool;
import io.lb4j.Diagnosis;
import io.lb4j.Durations;
import io.lb4j.Finding;
import io.lb4j.FlowExplanation;
import io.lb4j.HealthOverride;
import io.lb4j.HealthState;
import io.lb4j.InboundNatRule;
import io.lb4j.IpLiteral;
import io.lb4j.LoadBalancer;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancingRule;
import io.lb4j.ProbeResult;
import io.lb4j.Rule;
import io.lb4j.Selection;
import io.lb4j.discovery.DiscoveryStatus;
import io.lb4j.netty.Counters;
import io.lb4j.netty.NettyL4Proxy;
import io.lb4j.netty.RefusalReason;
import io.lb4j.netty.Refusals;
import io.lb4j.netty.RefusedClient;
import io.netty.util.NetUtil;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What the admin endpoint shows, built once from the proxy and the balancer and rendered three
 * ways: the HTML page ({@code GET /}), the text report ({@code GET /report}, printed by {@code
 * lb4j-proxy report}) and JSON ({@code GET /diagnose}, {@code GET /explain}, {@code GET
 * /backends}): the pools' membership sources, the rules with their backends and selection
 * fingerprints, the findings.
 */
final class AdminPages {
  private AdminPages() {}

  /**
   * A backend's state on the page, in the order a reader asks: is it taking new flows, and if not,
   * is that the operator's doing (draining, disabled) or its health (ejected, down)? Each has its
   * row colour ({@link #css()}) and words ({@link #text()}), so colour is never the only cue.
   */
  enum State {
    IN_ROTATION("in rotation"),
    DRAINING("draining"),
    DOWN("down"),
    DISABLED("disabled"),
    EJECTED("ejected");

    private final String text;

    State(String text) {
      this.text = text;
    }

    /** Returns the words the page shows: {@code in rotation}. */
    String text() {
      return text;
    }

    /** Returns the row's class suffix: {@code in-rotation}. */
    String css() {
      return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
  }

  /**
   * A backend's {@link State} and why, such as {@code down} for {@code UNHEALTHY}; {@code until} is
   * when an ejection ends, or null.
   */
  record Status(State state, String reason, Instant until) {
    Status(State state, String reason) {
      this(state, reason, null);
    }

    /**
     * Returns {@code down: UNHEALTHY}, or {@code in rotation} without a reason: what a change of
     * state changes ({@link #until} is left out: the balancer computes it afresh at each read).
     */
    String describe() {
      return reason.isEmpty() ? state.text() : state.text() + ": " + reason;
    }
  }

  /**
   * Returns backend {@code b}'s state for a rule: disabled or draining by its admin state first,
   * then in rotation, ejected by passive health, or down (its health, a {@code FORCE_DOWN}
   * override, weight 0).
   */
  static Status status(Backend b, BackendHealth h) {
    if (b.adminState() == AdminState.DISABLED) {
      return new Status(State.DISABLED, "admin DISABLED");
    }
    if (b.adminState() == AdminState.DRAINING) {
      return new Status(State.DRAINING, "admin DRAINING");
    }
    if (h.inRotation()) {
      return new Status(State.IN_ROTATION, h.isEjected() ? "ejected, kept as the last resort" : "");
    }
    if (h.isEjected()) {
      return new Status(State.EJECTED, "passive health", h.ejectedUntil());
    }
    return new Status(State.DOWN, outOfRotation(b, h));
  }

  /**
   * Returns, in a word or two, why backend {@code b} takes no new flows: {@code admin DISABLED},
   * {@code FORCE_DOWN}, {@code ejected}, {@code weight 0} or its health ({@code UNHEALTHY}).
   */
  static String outOfRotation(Backend b, BackendHealth h) {
    if (b.adminState() != AdminState.ENABLED) {
      return "admin " + b.adminState();
    }
    if (h.override() == HealthOverride.FORCE_DOWN) {
      return "FORCE_DOWN";
    }
    if (h.isEjected()) {
      return "ejected";
    }
    if (h.state() == HealthState.HEALTHY && b.weight() == 0) {
      return "weight 0";
    }
    return h.state().toString();
  }

  /**
   * One backend of one rule: what the report and the page show.
   *
   * @param status its state on the page and why
   * @param outOfRotation why it takes no new flows ({@link #outOfRotation}), or empty
   * @param since since when it has been in {@code status}, or null when unknown
   * @param connectFailures connects to it that failed so far
   * @param series its sparkline samples
   */
  record Row(
      String id,
      String target,
      int weight,
      String adminState,
      String health,
      boolean inRotation,
      int flows,
      long connections,
      List<ProbeResult> probes,
      Status status,
      String outOfRotation,
      Instant since,
      long connectFailures,
      PageSampler.Series series) {}

  /**
   * One rule with its backends, and what its frontend refused ({@code refused: 3 DENY_LIST since
   * ...}), or an empty string; its counters since start and the connections per second its frontend
   * accepted in the last sample interval (NaN before the first sample).
   */
  record RuleView(
      String name,
      String summary,
      List<Row> rows,
      String refused,
      Counters.Snapshot counters,
      double rate) {
    int totalFlows() {
      return rows.stream().mapToInt(Row::flows).sum();
    }

    long totalConnections() {
      return rows.stream().mapToLong(Row::connections).sum();
    }

    int inRotation() {
      return (int) rows.stream().filter(Row::inRotation).count();
    }

    /**
     * Returns {@code app: 2 of 3 backends in rotation (out: web-2 UNHEALTHY)}: the page's summary
     * line.
     */
    String glance() {
      StringBuilder sb =
          new StringBuilder(name)
              .append(": ")
              .append(inRotation())
              .append(" of ")
              .append(rows.size())
              .append(rows.size() == 1 ? " backend" : " backends")
              .append(" in rotation");
      String sep = " (out: ";
      for (Row r : rows) {
        if (!r.inRotation()) {
          sb.append(sep).append(r.id()).append(' ').append(r.outOfRotation());
          sep = ", ";
        }
      }
      return sep.equals(", ") ? sb.append(')').toString() : sb.toString();
    }
  }

  /**
   * A pool's membership source: what it asks ({@link DiscoveryStatus#source()}), its state, the
   * pool's members now, when its last good answer came and its last problem.
   */
  record SourceView(DiscoveryStatus status, List<String> members, Duration ageOfLastGoodAnswer) {
    /** Returns {@code 4s}, or {@code never} without a good answer. */
    String age() {
      return ageOfLastGoodAnswer == null
          ? "never"
          : Durations.format(Duration.ofSeconds(ageOfLastGoodAnswer.toSeconds()));
    }

    /** Returns {@code SERVFAIL from 127.0.0.53 (at 2026-...Z)}, or an empty string. */
    String problem() {
      return status.lastProblem() == null
          ? ""
          : status.lastProblem() + " (at " + status.lastProblemAt() + ")";
    }
  }

  /**
   * What the page's header shows and how it draws.
   *
   * @param version the proxy's version ({@link BuildInfo})
   * @param started when the admin endpoint started (with the proxy), for the uptime
   * @param refreshSeconds the page reloads itself after this many seconds, or 0 for never
   * @param sampleInterval the time between two sparkline samples
   * @param samples the most samples a sparkline shows
   */
  record PageInfo(
      String version, Instant started, int refreshSeconds, Duration sampleInterval, int samples) {}

  /** Everything a page shows. */
  record Model(
      Instant at,
      List<SourceView> sources,
      List<RuleView> rules,
      Diagnosis diagnosis,
      PageInfo page) {}

  /** A backend a rule sends flows to, and the port it sends them to. */
  record Target(Backend backend, int port) {}

  /**
   * Returns the backends {@code rule} sends flows to: every backend of the pool for a
   * load-balancing rule, on its own port or the rule's; the one named backend for an inbound NAT
   * rule.
   */
  static List<Target> targets(LoadBalancerConfig config, Rule rule) {
    BackendPool pool = config.pool(rule.backendPool());
    if (rule instanceof InboundNatRule nat) {
      return List.of(new Target(pool.backend(nat.backend()), nat.backendPort()));
    }
    List<Target> out = new ArrayList<>();
    for (Backend b : pool.backends()) {
      out.add(new Target(b, b.target(rule.backendPort()).getPort()));
    }
    return out;
  }

  /**
   * Returns the membership source of each pool that has one, at {@code now}, with the pool's
   * members in {@code config}.
   */
  static List<SourceView> sources(LoadBalancer lb, LoadBalancerConfig config, Instant now) {
    List<SourceView> out = new ArrayList<>();
    for (DiscoveryStatus s : lb.discoveries()) {
      BackendPool pool = config.pool(s.pool());
      List<String> members = new ArrayList<>();
      if (pool != null) {
        for (Backend b : pool.backends()) {
          members.add(b.id());
        }
      }
      out.add(new SourceView(s, members, s.ageOfLastGoodAnswer(now)));
    }
    return out;
  }

  /** Returns rule {@code rule}'s selection fingerprint, or {@code -} when it has none now. */
  static String fingerprint(LoadBalancer lb, String rule) {
    try {
      return lb.selectionFingerprint(rule);
    } catch (IllegalArgumentException gone) { // removed by a reload meanwhile
      return "-";
    }
  }

  /**
   * Returns what the page and the report show of {@code proxy} now; {@code sampler} gives the
   * sparklines, rates and state ages, {@code refreshSeconds} the page's auto-refresh (0: off).
   */
  static Model model(
      NettyL4Proxy proxy, Diagnosis diagnosis, PageSampler sampler, int refreshSeconds) {
    LoadBalancerConfig config = proxy.loadBalancer().config();
    Map<String, InetSocketAddress> listening = proxy.listeners();
    List<RuleView> rules = new ArrayList<>();
    for (Rule r : config.rules()) {
      List<Row> rows = new ArrayList<>();
      for (Target t : targets(config, r)) {
        Row row = row(proxy, sampler, diagnosis.at(), r.name(), t.backend(), t.port());
        if (row != null) {
          rows.add(row);
        }
      }
      String to =
          r instanceof LoadBalancingRule lb
              ? String.format(
                  Locale.ROOT,
                  "pool %s port %d, %s, %s, selection fingerprint %s",
                  lb.backendPool(),
                  lb.backendPort(),
                  lb.selection().algorithm(),
                  lb.distributionMode(),
                  fingerprint(proxy.loadBalancer(), r.name()))
              : String.format(
                  Locale.ROOT,
                  "%s port %d (inbound NAT)",
                  ((InboundNatRule) r).backend(),
                  r.backendPort());
      rules.add(
          new RuleView(
              r.name(),
              address(listening.get(r.name())) + "/" + r.protocol() + " -> " + to,
              rows,
              refused(proxy.refusals(r.name())),
              proxy.ruleCounters(r.name()),
              sampler.rate(r.name())));
    }
    return new Model(
        diagnosis.at(),
        sources(proxy.loadBalancer(), config, diagnosis.at()),
        rules,
        diagnosis,
        new PageInfo(
            BuildInfo.CURRENT.version(),
            sampler.started(),
            refreshSeconds,
            sampler.interval(),
            sampler.capacity()));
  }

  /**
   * Returns {@code refused: 3 DENY_LIST since 2026-...Z (12 since start), last 127.0.0.70 DENY_LIST
   * 127.0.0.64/26 at ...}, or an empty string when the frontend refused nothing.
   */
  static String refused(Refusals.Snapshot r) {
    if (r.total().isEmpty()) {
      return "";
    }
    StringBuilder sb = new StringBuilder("refused:");
    if (r.sinceOptions().isEmpty()) {
      sb.append(" none since ").append(r.since());
    } else {
      String sep = " ";
      for (Map.Entry<RefusalReason, Long> e : r.sinceOptions().entrySet()) {
        sb.append(sep).append(e.getValue()).append(' ').append(e.getKey());
        sep = ", ";
      }
      sb.append(" since ").append(r.since());
    }
    long total = r.total().values().stream().mapToLong(Long::longValue).sum();
    sb.append(" (").append(total).append(" since start)");
    if (!r.recent().isEmpty()) {
      sb.append(", last ").append(r.recent().get(0));
    }
    return sb.toString();
  }

  /** Returns {@code 127.0.0.1:8080}, {@code [::1]:8080}, or {@code (not listening)} for null. */
  static String address(InetSocketAddress a) {
    return a == null ? "(not listening)" : IpLiteral.format(a);
  }

  /**
   * Returns backend {@code b}'s row in {@code rule}, or null when a reload removed it meanwhile.
   */
  private static Row row(
      NettyL4Proxy proxy, PageSampler sampler, Instant now, String rule, Backend b, int port) {
    BackendHealth h;
    try {
      h = proxy.loadBalancer().health(rule, b.id());
    } catch (IllegalArgumentException gone) {
      return null;
    }
    Status status = status(b, h);
    Counters.Snapshot counters = proxy.backendSnapshot(rule, b.id());
    return new Row(
        b.id(),
        IpLiteral.format(b.address(), port),
        b.weight(),
        b.adminState().toString(),
        h.state().toString(),
        h.inRotation(),
        proxy.loadBalancer().activeFlows(rule, b.id()),
        counters.totalConnections(),
        h.recentResults(),
        status,
        h.inRotation() ? "" : outOfRotation(b, h),
        sampler.since(rule, b.id(), status.describe(), now),
        counters.connectFailures(),
        sampler.series(rule, b.id()));
  }

  // ---------------------------------------------------------------- text

  static String text(String endpoint, Model m) {
    StringBuilder sb = new StringBuilder();
    sb.append("lb4j report for ").append(endpoint).append(" at ").append(m.at()).append("\n");
    if (!m.sources().isEmpty()) {
      sb.append("\nmembership sources:\n");
      for (SourceView v : m.sources()) {
        DiscoveryStatus s = v.status();
        sb.append(
            String.format(
                Locale.ROOT,
                "  pool %s: %s: %s, %d members, last good answer %s%n",
                s.pool(),
                s.source(),
                s.state(),
                v.members().size(),
                v.ageOfLastGoodAnswer() == null ? "never" : v.age() + " ago"));
        sb.append("    members: ")
            .append(v.members().isEmpty() ? "none" : String.join(", ", v.members()))
            .append('\n');
        sb.append(
            String.format(
                Locale.ROOT,
                "    answers: %d applied, %d unchanged, %d refused; %d failures%n",
                s.answersApplied(),
                s.answersUnchanged(),
                s.answersRefused(),
                s.failures()));
        if (!v.problem().isEmpty()) {
          sb.append("    last problem: ").append(v.problem()).append('\n');
        }
      }
    }
    for (RuleView r : m.rules()) {
      sb.append("\nrule ").append(r.name()).append(": ").append(r.summary()).append('\n');
      // as wide as the longest id and target: a discovered member's id is its address and port
      int idWidth = 12;
      int targetWidth = 22;
      for (Row row : r.rows()) {
        idWidth = Math.max(idWidth, row.id().length());
        targetWidth = Math.max(targetWidth, row.target().length());
      }
      String columns = "  %-" + idWidth + "s %-" + targetWidth + "s";
      sb.append(
          String.format(
              Locale.ROOT,
              columns + " %6s %-9s %-9s %-8s %6s  %s%n",
              "backend",
              "target",
              "weight",
              "admin",
              "health",
              "rotation",
              "flows",
              "share of flows"));
      int total = r.totalFlows();
      for (Row row : r.rows()) {
        double share = total == 0 ? 0 : (double) row.flows() / total;
        int bar = (int) Math.round(share * 20);
        sb.append(
            String.format(
                Locale.ROOT,
                columns + " %6d %-9s %-9s %-8s %6d  %s%s %5.1f%%%n",
                row.id(),
                row.target(),
                row.weight(),
                row.adminState(),
                row.health(),
                row.inRotation() ? "yes" : "no",
                row.flows(),
                "#".repeat(bar),
                ".".repeat(20 - bar),
                100 * share));
      }
      for (Row row : r.rows()) {
        if (!row.probes().isEmpty()) {
          ProbeResult last = row.probes().get(row.probes().size() - 1);
          sb.append("  last probe of ").append(row.id()).append(": ").append(last).append('\n');
        }
      }
      if (!r.refused().isEmpty()) {
        sb.append("  ").append(r.refused()).append('\n');
      }
    }
    sb.append('\n').append(m.diagnosis());
    return sb.toString();
  }

  // ---------------------------------------------------------------- HTML

  /** Findings up to this many are shown open; more are collapsed under their count. */
  static final int FINDINGS_SHOWN_OPEN = 3;

  /** The shortest auto-refresh: every page view runs a diagnosis, which connects to backends. */
  static final int MIN_REFRESH_SECONDS = 2;

  /** The longest auto-refresh: an hour. */
  static final int MAX_REFRESH_SECONDS = 3600;

  /** The auto-refresh the page's link turns on. */
  static final int DEFAULT_REFRESH_SECONDS = 5;

  /** An ejection's end on the page: {@code 12:03:07Z}. */
  private static final DateTimeFormatter UNTIL =
      DateTimeFormatter.ofPattern("HH:mm:ss'Z'", Locale.ROOT).withZone(ZoneOffset.UTC);

  /** A sparkline's size in CSS pixels. */
  static final int SPARK_WIDTH = 120;

  static final int SPARK_HEIGHT = 24;

  /**
   * Returns the page's auto-refresh from its query ({@code ?refresh=5}): seconds, or 0 without the
   * parameter.
   *
   * @throws IllegalArgumentException naming the parameter, its value and the range expected
   */
  static int refreshSeconds(Map<String, List<String>> query) {
    List<String> values = query.get("refresh");
    if (values == null || values.isEmpty()) {
      return 0;
    }
    String v = values.get(0);
    String expected =
        " (expected: seconds, a whole number from "
            + MIN_REFRESH_SECONDS
            + " to "
            + MAX_REFRESH_SECONDS
            + ")";
    int seconds;
    try {
      seconds = Integer.parseInt(v.strip());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("refresh: '" + v + "'" + expected);
    }
    if (seconds < MIN_REFRESH_SECONDS || seconds > MAX_REFRESH_SECONDS) {
      throw new IllegalArgumentException("refresh: '" + v + "'" + expected);
    }
    return seconds;
  }

  /**
   * Returns the page, plain HTML and CSS with inline SVG and no script: a header (version, uptime,
   * auto-refresh), a summary line per rule, then per rule its counters and backend table (rows
   * coloured and named by state, share of connections since start, sparklines), the membership
   * sources, the findings (collapsed when there are more than {@value #FINDINGS_SHOWN_OPEN}) and
   * the recent probe results.
   */
  static String html(Model m) {
    StringBuilder sb = new StringBuilder();
    Diagnosis d = m.diagnosis();
    PageInfo page = m.page();
    sb.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n");
    if (page.refreshSeconds() > 0) {
      sb.append("<meta http-equiv=\"refresh\" content=\"")
          .append(page.refreshSeconds())
          .append("\">\n");
    }
    sb.append("<title>lb4j: ").append(d.findings().size()).append(" findings</title>\n");
    sb.append(
        """
        <style>
        body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}
        header p{margin:.2em 0 1em;color:#444}
        table{border-collapse:collapse;margin:.5em 0 1em}
        td,th{border-bottom:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:middle}
        td.num,th.num{text-align:right}th{vertical-align:bottom}th.since{white-space:nowrap}
        .glance{list-style:none;padding:0;margin:0 0 1em}
        .glance li{padding:4px 10px;margin:4px 0;border-left:6px solid #1e8449;background:#f4faf6}
        .glance li.some-out{border-left-color:#e67e22;background:#fdf6ee}
        .glance li.none-in{border-left-color:#c0392b;background:#fbeeee}
        .glance a{color:inherit;text-decoration:none}.glance a:hover{text-decoration:underline}
        .counters b{font-weight:600}
        tr.st-in-rotation td{background:#e3f4e8}
        tr.st-draining td{background:#fdefd9}
        tr.st-down td{background:#f9dcdc}
        tr.st-disabled td{background:#e6e6e6;color:#555}
        tr.st-ejected td{background:#efe0f7}
        tr.st-in-rotation td.state{border-left:6px solid #1e8449}
        tr.st-draining td.state{border-left:6px solid #e67e22}
        tr.st-down td.state{border-left:6px solid #c0392b}
        tr.st-disabled td.state{border-left:6px solid #7f8c8d}
        tr.st-ejected td.state{border-left:6px solid #8e44ad}
        td.state b{display:block}td.state small{color:#555}
        .bar{display:inline-block;vertical-align:middle;background:#fff;border:1px solid #bbb;
        width:120px;height:10px}
        .fill{background:#3a7bd5;height:10px}
        svg.spark{vertical-align:middle;background:#fff;border:1px solid #ccc}
        td.spark,td.share-cell{white-space:nowrap}
        .spark-now{font-size:12px;color:#444;margin-left:4px}
        .nosamples{font-size:12px;color:#777}
        .CRITICAL{border-left:6px solid #c0392b}.WARNING{border-left:6px solid #e67e22}
        .INFO{border-left:6px solid #7f8c8d}.finding{padding:4px 10px;margin:8px 0}
        summary{cursor:pointer}summary h2{display:inline}
        .HEALTHY{color:#1e8449}.UNHEALTHY{color:#c0392b}.UNKNOWN{color:#7f8c8d}
        .OK,.SUCCESS{color:#1e8449}.FAILING{color:#c0392b}.REFUSED{color:#e67e22}
        .WAITING{color:#7f8c8d}
        </style></head><body>
        """);
    header(sb, m);
    sb.append("<ul class=\"glance\" id=\"glance\">\n");
    for (RuleView r : m.rules()) {
      int in = r.inRotation();
      String level = in == 0 ? "none-in" : in == r.rows().size() ? "all-in" : "some-out";
      sb.append("<li class=\"summary ")
          .append(level)
          .append("\" data-rule=\"")
          .append(esc(r.name()))
          .append("\" data-in-rotation=\"")
          .append(in)
          .append("\" data-backends=\"")
          .append(r.rows().size())
          .append("\"><a href=\"#rule-")
          .append(esc(r.name()))
          .append("\">")
          .append(esc(r.glance()))
          .append("</a></li>\n");
    }
    sb.append("</ul>\n");
    for (RuleView r : m.rules()) {
      rule(sb, r, page, m.at());
    }
    sources(sb, m.sources());
    findings(sb, d);
    probes(sb, m.rules());
    sb.append("</body></html>\n");
    return sb.toString();
  }

  private static void header(StringBuilder sb, Model m) {
    PageInfo page = m.page();
    Duration up = Duration.between(page.started(), m.at());
    sb.append("<header><h1>lb4j</h1><p id=\"at\">version <span id=\"version\">")
        .append(esc(page.version()))
        .append("</span> &middot; up <span id=\"uptime\" title=\"since ")
        .append(esc(page.started().toString()))
        .append("\">")
        .append(esc(age(up)))
        .append("</span> &middot; state at ")
        .append(esc(m.at().toString()))
        .append(" &middot; ");
    if (page.refreshSeconds() > 0) {
      sb.append("<span id=\"refresh\">refreshes every ")
          .append(page.refreshSeconds())
          .append("s</span> (<a href=\"/\">stop</a>)");
    } else {
      sb.append("<a href=\"/\">refresh</a> (<a id=\"refresh\" href=\"/?refresh=")
          .append(DEFAULT_REFRESH_SECONDS)
          .append("\">every ")
          .append(DEFAULT_REFRESH_SECONDS)
          .append("s</a>)");
    }
    sb.append(" &middot; <a href=\"/metrics\">metrics</a>")
        .append(" &middot; <a href=\"/report\">text report</a></p></header>\n");
  }

  private static void rule(StringBuilder sb, RuleView r, PageInfo page, Instant at) {
    Counters.Snapshot c = r.counters();
    String window = age(page.sampleInterval().multipliedBy(page.samples()));
    sb.append("<section class=\"rule\" id=\"rule-")
        .append(esc(r.name()))
        .append("\"><h2>Rule ")
        .append(esc(r.name()))
        .append("</h2><p class=\"route\">")
        .append(esc(r.summary()))
        .append(
            r.refused().isEmpty()
                ? ""
                : " &middot; <span class=\"refused\">" + esc(r.refused()) + "</span>")
        .append("</p>\n<p class=\"counters\" data-rule=\"")
        .append(esc(r.name()))
        .append("\" data-connections=\"")
        .append(c.totalConnections())
        .append("\">flows now <b class=\"flows\">")
        .append(r.totalFlows())
        .append("</b> &middot; since start: <b class=\"connections\">")
        .append(c.totalConnections())
        .append("</b> connections, <b class=\"bytes-in\">")
        .append(bytes(c.bytesToBackend()))
        .append("</b> in (clients to backends), <b class=\"bytes-out\">")
        .append(bytes(c.bytesToClient()))
        .append("</b> out, <b class=\"connect-failures\">")
        .append(c.connectFailures())
        .append("</b> connect failures &middot; <b class=\"rate\">");
    if (Double.isNaN(r.rate())) {
      sb.append("-</b> connections/s (first sample after ")
          .append(age(page.sampleInterval()))
          .append(")</p>\n");
    } else {
      sb.append(number(r.rate()))
          .append("</b> connections/s over the last ")
          .append(age(page.sampleInterval()))
          .append("</p>\n");
    }
    sb.append("<table class=\"backends\" data-rule=\"")
        .append(esc(r.name()))
        .append("\"><tr><th>state</th><th>backend</th><th>target</th><th class=\"num\">weight</th>")
        .append(
            "<th>health</th><th class=\"since\">in state for</th><th class=\"num\">flows now</th>")
        .append("<th class=\"num\">connections</th><th>share of connections since start</th>")
        .append("<th class=\"num\">connect failures</th><th>new connections/s, last ")
        .append(window)
        .append("</th><th>probe latency, last ")
        .append(window)
        .append("</th></tr>\n");
    long total = r.totalConnections();
    for (Row row : r.rows()) {
      double share = total == 0 ? 0 : 100.0 * row.connections() / total;
      String pct = String.format(Locale.ROOT, "%.1f", share);
      Status st = row.status();
      sb.append("<tr class=\"backend st-")
          .append(st.state().css())
          .append("\" data-backend=\"")
          .append(esc(row.id()))
          .append("\" data-state=\"")
          .append(st.state().css())
          .append("\"><td class=\"state\"><b>")
          .append(st.state().text())
          .append("</b>");
      if (!st.reason().isEmpty()) {
        sb.append("<small>").append(esc(st.reason()));
        if (st.until() != null) {
          sb.append(", until ").append(UNTIL.format(st.until()));
        }
        sb.append("</small>");
      }
      sb.append("</td><td>")
          .append(esc(row.id()))
          .append("</td><td>")
          .append(esc(row.target()))
          .append("</td><td class=\"num\">")
          .append(row.weight())
          .append("</td><td class=\"health ")
          .append(row.health())
          .append("\">")
          .append(row.health())
          .append("</td><td class=\"since\"");
      if (row.since() == null) {
        sb.append(">-</td>");
      } else {
        sb.append(" title=\"")
            .append(st.state().text())
            .append(" since ")
            .append(esc(row.since().toString()))
            .append("\">")
            .append(esc(age(Duration.between(row.since(), at))))
            .append("</td>");
      }
      sb.append("<td class=\"num\">")
          .append(row.flows())
          .append("</td><td class=\"num\">")
          .append(row.connections())
          .append("</td><td class=\"share-cell\"><span class=\"bar\" title=\"")
          .append(pct)
          .append("% of the rule's connections since start\"><span class=\"fill\" data-share=\"")
          .append(pct)
          .append("\" style=\"display:block;width:")
          .append(pct)
          .append("%\"></span></span> <span class=\"share\">")
          .append(pct)
          .append("%</span></td><td class=\"num\">")
          .append(row.connectFailures())
          .append("</td><td class=\"spark\">");
      double[] conn = row.series().connectionsPerSecond();
      sparkline(sb, "conn", conn, page.samples(), "new connections per second", "/s", page);
      sb.append("</td><td class=\"spark\">");
      double[] lat = row.series().probeLatencyMillis();
      sparkline(sb, "latency", lat, page.samples(), "slowest probe per interval", " ms", page);
      sb.append("</td></tr>\n");
    }
    sb.append("</table></section>\n");
  }

  private static void sources(StringBuilder sb, List<SourceView> sources) {
    if (sources.isEmpty()) {
      return;
    }
    sb.append("<h2>Membership sources</h2>\n<table class=\"sources\"><tr><th>pool</th>")
        .append("<th>source</th><th>state</th><th>members</th><th>last good answer</th>")
        .append("<th>answers</th><th>last problem</th></tr>\n");
    for (SourceView v : sources) {
      DiscoveryStatus s = v.status();
      sb.append("<tr class=\"source\" data-pool=\"")
          .append(esc(s.pool()))
          .append("\" data-state=\"")
          .append(s.state())
          .append("\"><td>")
          .append(esc(s.pool()))
          .append("</td><td>")
          .append(esc(s.source()))
          .append("</td><td class=\"state ")
          .append(s.state())
          .append("\">")
          .append(s.state())
          .append("</td><td class=\"members\" data-count=\"")
          .append(v.members().size())
          .append("\">")
          .append(v.members().size())
          .append(v.members().isEmpty() ? "" : ": " + esc(String.join(", ", v.members())))
          .append("</td><td>")
          .append(v.ageOfLastGoodAnswer() == null ? "never" : esc(v.age()) + " ago")
          .append("</td><td>")
          .append(
              String.format(
                  Locale.ROOT,
                  "%d applied, %d unchanged, %d refused, %d failures",
                  s.answersApplied(),
                  s.answersUnchanged(),
                  s.answersRefused(),
                  s.failures()))
          .append("</td><td class=\"problem\">")
          .append(esc(v.problem()))
          .append("</td></tr>\n");
    }
    sb.append("</table>\n");
  }

  /**
   * The findings under a {@code <details>} that is open when there are at most {@value
   * #FINDINGS_SHOWN_OPEN}; its summary counts them by severity.
   */
  private static void findings(StringBuilder sb, Diagnosis d) {
    List<Finding> findings = d.findings();
    sb.append("<details id=\"findings\" data-count=\"")
        .append(findings.size())
        .append('"')
        .append(findings.size() <= FINDINGS_SHOWN_OPEN ? " open" : "")
        .append("><summary><h2>Findings</h2> ");
    if (findings.isEmpty()) {
      sb.append("none");
    } else {
      Map<Finding.Severity, Integer> counts = new LinkedHashMap<>();
      for (Finding f : findings) { // most severe first
        counts.merge(f.severity(), 1, Integer::sum);
      }
      sb.append(findings.size()).append(':');
      String sep = " ";
      for (Map.Entry<Finding.Severity, Integer> e : counts.entrySet()) {
        sb.append(sep).append(e.getValue()).append(' ').append(e.getKey());
        sep = ", ";
      }
    }
    sb.append("</summary>\n");
    if (findings.isEmpty()) {
      sb.append("<p class=\"none\">No findings: ")
          .append(d.checksRun())
          .append(" checks passed.</p>\n");
    }
    for (Finding f : findings) {
      sb.append("<div class=\"finding ")
          .append(f.severity())
          .append("\" data-check=\"")
          .append(f.check())
          .append("\"><b>")
          .append(f.severity())
          .append(' ')
          .append(f.check())
          .append("</b>");
      if (f.rule() != null) {
        sb.append(" &middot; rule ").append(esc(f.rule()));
      }
      if (f.backend() != null) {
        sb.append(" &middot; backend ").append(esc(f.backend()));
      }
      sb.append("<p class=\"what\">").append(esc(f.what())).append("</p><ul>");
      for (String e : f.evidence()) {
        sb.append("<li>").append(esc(e)).append("</li>");
      }
      sb.append("</ul><p class=\"fix\">Fix: ").append(esc(f.fix())).append("</p></div>\n");
    }
    sb.append("</details>\n");
  }

  /** The last five probe results of each backend, collapsed under their count. */
  private static void probes(StringBuilder sb, List<RuleView> rules) {
    StringBuilder rows = new StringBuilder();
    int count = 0;
    for (RuleView r : rules) {
      for (Row row : r.rows()) {
        List<ProbeResult> probes = row.probes();
        for (int i = Math.max(0, probes.size() - 5); i < probes.size(); i++) {
          ProbeResult p = probes.get(i);
          rows.append("<tr class=\"probe\"><td>")
              .append(esc(row.id()))
              .append("</td><td>")
              .append(esc(r.name()))
              .append("</td><td>")
              .append(esc(p.time().toString()))
              .append("</td><td class=\"")
              .append(p.outcome())
              .append("\">")
              .append(p.outcome())
              .append("</td><td class=\"num\">")
              .append(String.format(Locale.ROOT, "%.1f ms", p.latency().toNanos() / 1e6))
              .append("</td><td>")
              .append(esc(p.detail()))
              .append("</td></tr>\n");
          count++;
        }
      }
    }
    sb.append("<details id=\"probes\"><summary><h2>Recent probe results</h2> ")
        .append(count)
        .append(", the last five of each backend</summary>\n");
    sb.append("<table class=\"probes\"><tr><th>backend</th><th>rule</th><th>probe time</th>")
        .append("<th>outcome</th><th class=\"num\">latency</th><th>detail</th></tr>\n")
        .append(rows)
        .append("</table></details>\n");
  }

  /**
   * Writes a sparkline of {@code values} (oldest first, NaN for none) with, beside it, the newest
   * value and the largest; or a note when there is no value.
   */
  private static void sparkline(
      StringBuilder sb,
      String kind,
      double[] values,
      int capacity,
      String what,
      String unit,
      PageInfo page) {
    double max = Double.NaN;
    for (double v : values) {
      if (!Double.isNaN(v)) {
        max = Double.isNaN(max) ? v : Math.max(max, v);
      }
    }
    if (Double.isNaN(max)) {
      sb.append("<span class=\"nosamples\">")
          .append(
              values.length == 0
                  ? "no samples yet"
                  : "none in the last " + age(page.sampleInterval().multipliedBy(values.length)))
          .append("</span>");
      return;
    }
    double last = values[values.length - 1];
    String now = Double.isNaN(last) ? "-" : number(last) + unit;
    String title =
        what
            + ", one sample per "
            + age(page.sampleInterval())
            + ", last "
            + age(page.sampleInterval().multipliedBy(capacity))
            + ": now "
            + now
            + ", max "
            + number(max)
            + unit;
    sb.append(svg(kind, values, capacity, title))
        .append("<span class=\"spark-now\">")
        .append(esc(now))
        .append(" &middot; max ")
        .append(esc(number(max) + unit))
        .append("</span>");
  }

  /** Room between a sparkline's line and its edge, in CSS pixels. */
  private static final double SPARK_PAD = 2;

  /**
   * Returns an inline SVG sparkline, well-formed XML on its own: the last {@code capacity} of
   * {@code values} (oldest first) right-aligned on a {@value #SPARK_WIDTH}×{@value #SPARK_HEIGHT}
   * box scaled from 0 to their maximum, a {@code polyline} per run of numbers (a {@code circle} for
   * a lone one), gaps at NaN; {@code title} as its accessible name.
   */
  static String svg(String kind, double[] values, int capacity, String title) {
    int n = Math.min(values.length, capacity);
    double max = 0;
    for (int i = values.length - n; i < values.length; i++) {
      if (!Double.isNaN(values[i]) && !Double.isInfinite(values[i])) {
        max = Math.max(max, values[i]);
      }
    }
    double step = (SPARK_WIDTH - 2 * SPARK_PAD) / (capacity - 1);
    double height = SPARK_HEIGHT - 2 * SPARK_PAD;
    StringBuilder sb =
        new StringBuilder("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"spark ")
            .append(esc(kind))
            .append("\" fill=\"none\" stroke=\"")
            .append(kind.equals("latency") ? "#8e44ad" : "#3a7bd5")
            .append("\" stroke-width=\"1.5\" stroke-linejoin=\"round\" width=\"")
            .append(SPARK_WIDTH)
            .append("\" height=\"")
            .append(SPARK_HEIGHT)
            .append("\" viewBox=\"0 0 ")
            .append(SPARK_WIDTH)
            .append(' ')
            .append(SPARK_HEIGHT)
            .append("\" role=\"img\" aria-label=\"")
            .append(esc(title))
            .append("\"><title>")
            .append(esc(title))
            .append("</title>");
    StringBuilder run = new StringBuilder();
    int runLength = 0;
    for (int i = 0; i < n; i++) {
      double v = values[values.length - n + i];
      if (Double.isNaN(v) || Double.isInfinite(v)) {
        line(sb, run, runLength);
        run.setLength(0);
        runLength = 0;
        continue;
      }
      double x = SPARK_WIDTH - SPARK_PAD - (n - 1 - i) * step;
      double y = SPARK_HEIGHT - SPARK_PAD - (max > 0 ? Math.max(0, v) / max * height : 0);
      run.append(runLength == 0 ? "" : " ").append(String.format(Locale.ROOT, "%.1f,%.1f", x, y));
      runLength++;
    }
    line(sb, run, runLength);
    return sb.append("</svg>").toString();
  }

  private static void line(StringBuilder sb, StringBuilder points, int count) {
    if (count == 1) {
      String[] xy = points.toString().split(",");
      sb.append("<circle cx=\"")
          .append(xy[0])
          .append("\" cy=\"")
          .append(xy[1])
          .append("\" r=\"1.5\"/>");
    } else if (count > 1) {
      sb.append("<polyline points=\"").append(points).append("\"/>");
    }
  }

  /**
   * Returns {@code 3m12s}: {@code d} to the second (to the minute past an hour), 0s if negative.
   */
  static String age(Duration d) {
    if (d.isNegative()) {
      return "0s";
    }
    Duration whole =
        d.toHours() >= 1 ? Duration.ofMinutes(d.toMinutes()) : Duration.ofSeconds(d.toSeconds());
    return Durations.format(whole);
  }

  /** Returns {@code 512 B}, {@code 1.5 KiB}, {@code 3.2 MiB}: a byte count in binary units. */
  static String bytes(long n) {
    if (n < 1024) {
      return n + " B";
    }
    String[] units = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double v = n;
    int u = -1;
    while (v >= 1024 && u < units.length - 1) {
      v /= 1024;
      u++;
    }
    return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
  }

  /** Returns {@code 0.25}, {@code 3.2}, {@code 120}: two significant digits or the whole number. */
  static String number(double v) {
    if (v == 0) {
      return "0";
    }
    if (v >= 100) {
      return String.format(Locale.ROOT, "%.0f", v);
    }
    if (v >= 10) {
      return String.format(Locale.ROOT, "%.1f", v);
    }
    return String.format(Locale.ROOT, "%.2f", v);
  }

  static String esc(String s) {
    StringBuilder sb = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '<' -> sb.append("&lt;");
        case '>' -> sb.append("&gt;");
        case '&' -> sb.append("&amp;");
        case '"' -> sb.append("&quot;");
        case '\'' -> sb.append("&#39;");
        default -> sb.append(c);
      }
    }
    return sb.toString();
  }

  // ---------------------------------------------------------------- JSON

  static Map<String, Object> json(Diagnosis d) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("at", d.at().toString());
    out.put("checksRun", d.checksRun());
    List<Object> findings = new ArrayList<>();
    for (Finding f : d.findings()) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("severity", f.severity());
      m.put("check", f.check());
      m.put("rule", f.rule());
      m.put("backend", f.backend());
      m.put("what", f.what());
      m.put("evidence", f.evidence());
      m.put("fix", f.fix());
      findings.add(m);
    }
    out.put("findings", findings);
    out.put("text", d.toString());
    return out;
  }

  /** A pool's membership source, for {@code GET /backends}. */
  static Map<String, Object> json(SourceView v) {
    DiscoveryStatus s = v.status();
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("pool", s.pool());
    m.put("source", s.source());
    m.put("state", s.state());
    m.put("members", v.members());
    m.put("lastGoodAnswer", s.lastGoodAnswer() == null ? null : s.lastGoodAnswer().toString());
    m.put(
        "lastGoodAnswerAgeSeconds",
        v.ageOfLastGoodAnswer() == null ? null : v.ageOfLastGoodAnswer().toMillis() / 1000.0);
    m.put("lastProblem", s.lastProblem());
    m.put("lastProblemAt", s.lastProblemAt() == null ? null : s.lastProblemAt().toString());
    Map<String, Long> answers = new LinkedHashMap<>();
    answers.put("applied", s.answersApplied());
    answers.put("unchanged", s.answersUnchanged());
    answers.put("refused", s.answersRefused());
    m.put("answers", answers);
    m.put("failures", s.failures());
    return m;
  }

  /** A rule's refusals: counts by reason (since start and since its options), recent clients. */
  static Map<String, Object> json(Refusals.Snapshot r) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("frontend", r.frontend());
    out.put("total", reasons(r.total()));
    out.put("since", r.since().toString());
    out.put("sinceOptions", reasons(r.sinceOptions()));
    out.put("last", r.last() == null ? null : r.last().toString());
    List<Object> recent = new ArrayList<>();
    for (RefusedClient c : r.recent()) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("source", NetUtil.toAddressString(c.source()));
      m.put("reason", c.reason());
      m.put("match", c.match());
      m.put("at", c.at().toString());
      recent.add(m);
    }
    out.put("recent", recent);
    return out;
  }

  private static Map<String, Long> reasons(Map<RefusalReason, Long> counts) {
    Map<String, Long> m = new LinkedHashMap<>();
    for (RefusalReason reason : RefusalReason.values()) {
      m.put(reason.name(), counts.getOrDefault(reason, 0L));
    }
    return m;
  }

  static Map<String, Object> json(FlowExplanation e) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("flow", e.flow().toString());
    out.put("rule", e.rule());
    out.put("ruleDescription", e.ruleDescription());
    out.put("mode", e.mode());
    out.put("hashedFields", e.hashedFields());
    out.put("hash", String.format("%016x", e.hash()));
    out.put("algorithm", e.algorithm());
    List<Object> candidates = new ArrayList<>();
    for (FlowExplanation.Candidate c : e.candidates()) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("backend", c.backendId());
      m.put("target", c.target());
      m.put("weight", c.weight());
      m.put("health", c.health());
      m.put("activeFlows", c.activeFlows());
      m.put("excluded", c.exclusion());
      m.put("detail", c.detail());
      candidates.add(m);
    }
    out.put("candidates", candidates);
    out.put("answer", json(e.selection()));
    out.put("fromFlowTable", e.fromFlowTable());
    out.put("freshPick", json(e.freshPick()));
    out.put("text", e.toString());
    return out;
  }

  private static Map<String, Object> json(Selection s) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("status", s.status());
    m.put("backend", s.isSelected() ? s.backend().id() : null);
    m.put("target", s.isSelected() ? IpLiteral.format(s.target()) : null);
    m.put("detail", s.detail());
    return m;
  }
}
