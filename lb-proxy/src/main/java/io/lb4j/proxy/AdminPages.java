package io.lb4j.proxy;

import io.lb4j.Backend;
import io.lb4j.BackendHealth;
import io.lb4j.BackendPool;
import io.lb4j.Diagnosis;
import io.lb4j.Durations;
import io.lb4j.Finding;
import io.lb4j.FlowExplanation;
import io.lb4j.InboundNatRule;
import io.lb4j.IpLiteral;
import io.lb4j.LoadBalancer;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancingRule;
import io.lb4j.ProbeResult;
import io.lb4j.Rule;
import io.lb4j.Selection;
import io.lb4j.discovery.DiscoveryStatus;
import io.lb4j.netty.NettyL4Proxy;
import io.lb4j.netty.RefusalReason;
import io.lb4j.netty.Refusals;
import io.lb4j.netty.RefusedClient;
import io.netty.util.NetUtil;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
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

  /** One backend of one rule. */
  record Row(
      String id,
      String target,
      int weight,
      String adminState,
      String health,
      boolean inRotation,
      int flows,
      long connections,
      List<ProbeResult> probes) {}

  /**
   * One rule with its backends, and what its frontend refused ({@code refused: 3 DENY_LIST since
   * ...}), or an empty string.
   */
  record RuleView(String name, String summary, List<Row> rows, String refused) {
    int totalFlows() {
      return rows.stream().mapToInt(Row::flows).sum();
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

  /** Everything a page shows. */
  record Model(Instant at, List<SourceView> sources, List<RuleView> rules, Diagnosis diagnosis) {}

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

  static Model model(NettyL4Proxy proxy, Diagnosis diagnosis) {
    LoadBalancerConfig config = proxy.loadBalancer().config();
    Map<String, InetSocketAddress> listening = proxy.listeners();
    List<RuleView> rules = new ArrayList<>();
    for (Rule r : config.rules()) {
      List<Row> rows = new ArrayList<>();
      for (Target t : targets(config, r)) {
        rows.add(row(proxy, r.name(), t.backend(), t.port()));
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
              refused(proxy.refusals(r.name()))));
    }
    return new Model(
        diagnosis.at(), sources(proxy.loadBalancer(), config, diagnosis.at()), rules, diagnosis);
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

  private static Row row(NettyL4Proxy proxy, String rule, Backend b, int port) {
    BackendHealth h = proxy.loadBalancer().health(rule, b.id());
    return new Row(
        b.id(),
        IpLiteral.format(b.address(), port),
        b.weight(),
        b.adminState().toString(),
        h.state().toString(),
        h.inRotation(),
        proxy.loadBalancer().activeFlows(rule, b.id()),
        proxy.backendSnapshot(rule, b.id()).totalConnections(),
        h.recentResults());
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

  static String html(Model m) {
    StringBuilder sb = new StringBuilder();
    Diagnosis d = m.diagnosis();
    sb.append(
        """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8">
        <title>lb4j</title>
        <style>
        body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}
        table{border-collapse:collapse;margin:.5em 0 1em}
        td,th{border-bottom:1px solid #ddd;padding:3px 8px;text-align:left}
        .bar{background:#eee;width:200px;height:12px}
        .fill{background:#3a7bd5;height:12px;width:0}
        .CRITICAL{border-left:6px solid #c0392b}.WARNING{border-left:6px solid #e67e22}
        .INFO{border-left:6px solid #7f8c8d}.finding{padding:4px 10px;margin:8px 0}
        .HEALTHY{color:#1e8449}.UNHEALTHY{color:#c0392b}.UNKNOWN{color:#7f8c8d}
        .OK{color:#1e8449}.FAILING{color:#c0392b}.REFUSED{color:#e67e22}.WAITING{color:#7f8c8d}
        </style></head><body>
        """);
    sb.append("<h1>lb4j</h1><p id=\"at\">State at ").append(esc(m.at().toString()));
    sb.append(" &middot; <a href=\"/\">refresh</a> &middot; <a href=\"/metrics\">metrics</a>");
    sb.append(" &middot; <a href=\"/report\">text report</a></p>\n");
    sb.append("<h2>Findings</h2>\n<div id=\"findings\" data-count=\"")
        .append(d.findings().size())
        .append("\">\n");
    if (d.findings().isEmpty()) {
      sb.append("<p class=\"none\">No findings: ")
          .append(d.checksRun())
          .append(" checks passed.</p>\n");
    }
    for (Finding f : d.findings()) {
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
    sb.append("</div>\n");
    if (!m.sources().isEmpty()) {
      sb.append("<h2>Membership sources</h2>\n<table class=\"sources\"><tr><th>pool</th>")
          .append("<th>source</th><th>state</th><th>members</th><th>last good answer</th>")
          .append("<th>answers</th><th>last problem</th></tr>\n");
      for (SourceView v : m.sources()) {
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
    for (RuleView r : m.rules()) {
      int total = r.totalFlows();
      sb.append("<h2 class=\"rule\" id=\"rule-")
          .append(esc(r.name()))
          .append("\">Rule ")
          .append(esc(r.name()))
          .append("</h2><p>")
          .append(esc(r.summary()))
          .append(" &middot; ")
          .append(total)
          .append(" flows")
          .append(
              r.refused().isEmpty()
                  ? ""
                  : " &middot; <span class=\"refused\">" + esc(r.refused()) + "</span>")
          .append("</p>\n<table class=\"backends\"><tr><th>backend</th><th>target</th>")
          .append("<th>weight</th><th>admin</th><th>health</th><th>in rotation</th>")
          .append("<th>flows</th><th>share of flows</th><th>connections</th></tr>\n");
      for (Row row : r.rows()) {
        double share = total == 0 ? 0 : 100.0 * row.flows() / total;
        sb.append("<tr class=\"backend\" data-backend=\"")
            .append(esc(row.id()))
            .append("\"><td>")
            .append(esc(row.id()))
            .append("</td><td>")
            .append(esc(row.target()))
            .append("</td><td>")
            .append(row.weight())
            .append("</td><td>")
            .append(row.adminState())
            .append("</td><td class=\"health ")
            .append(row.health())
            .append("\">")
            .append(row.health())
            .append("</td><td>")
            .append(row.inRotation() ? "yes" : "no")
            .append("</td><td>")
            .append(row.flows())
            .append("</td><td><div class=\"bar\"><div class=\"fill\" data-share=\"")
            .append(String.format(Locale.ROOT, "%.1f", share))
            .append("\"></div></div> <span class=\"share\">")
            .append(String.format(Locale.ROOT, "%.1f%%", share))
            .append("</span></td><td>")
            .append(row.connections())
            .append("</td></tr>\n");
      }
      sb.append("</table>\n<table class=\"probes\"><tr><th>backend</th><th>probe time</th>")
          .append("<th>outcome</th><th>latency</th><th>detail</th></tr>\n");
      for (Row row : r.rows()) {
        List<ProbeResult> probes = row.probes();
        for (int i = Math.max(0, probes.size() - 5); i < probes.size(); i++) {
          ProbeResult p = probes.get(i);
          sb.append("<tr class=\"probe\"><td>")
              .append(esc(row.id()))
              .append("</td><td>")
              .append(esc(p.time().toString()))
              .append("</td><td>")
              .append(p.outcome())
              .append("</td><td>")
              .append(String.format(Locale.ROOT, "%.1f ms", p.latency().toNanos() / 1e6))
              .append("</td><td>")
              .append(esc(p.detail()))
              .append("</td></tr>\n");
        }
      }
      sb.append("</table>\n");
    }
    // The bars are drawn by the browser from data-share, so a test that dumps the rendered DOM
    // sees whether the page ran.
    sb.append(
        """
        <script>
        for (const f of document.querySelectorAll('.fill')) {
          f.style.width = f.dataset.share + '%';
          f.title = f.dataset.share + '% of the rule\\'s flows';
        }
        document.title = 'lb4j: ' + document.getElementById('findings').dataset.count
            + ' findings';
        </script>
        </body></html>
        """);
    return sb.toString();
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
