package io.lb4j.netty;

import io.lb4j.Durations;
import io.lb4j.Finding;
import io.lb4j.Finding.Check;
import io.lb4j.Finding.Severity;
import io.lb4j.IpLiteral;
import io.lb4j.Rule;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * {@link Check#CLIENTS_REFUSED}: a rule's frontend refused clients in its current episode (since
 * its options took effect) and the last refusal is at most {@link Refusals#RECENT_WINDOW} old. One
 * WARNING per rule, named after what refused the most connections (the deny network, the allow
 * list, the limit, the PROXY header), with the counts by reason and by what refused them, the
 * sources, the recent refused clients, and a fix that, applied by reload, begins a new episode.
 *
 * <p>Refusals for want of a backend are folded into the balancer's finding when it has a CRITICAL
 * one for the rule (all backends unhealthy, say): its fix is the one that helps.
 *
 * <p>Stateless and thread-safe.
 */
final class ClientsRefusedCheck implements ProxyCheck {
  /** Sources named per line of evidence; the rest are counted. */
  private static final int SOURCES_SHOWN = 3;

  /** Recent refused clients listed in the evidence. */
  private static final int RECENT_SHOWN = 3;

  /** Connections refused for one reason by one network, list or limit, from their sources. */
  private static final class Cause {
    final RefusalReason reason;
    final String match;
    final Map<InetAddress, Long> sources = new LinkedHashMap<>();
    long others;
    long total;

    Cause(RefusalReason reason, String match) {
      this.reason = reason;
      this.match = match;
    }

    List<Map.Entry<InetAddress, Long>> top() {
      List<Map.Entry<InetAddress, Long>> l = new ArrayList<>(sources.entrySet());
      l.sort(
          Map.Entry.<InetAddress, Long>comparingByValue()
              .reversed()
              .thenComparing(e -> IpLiteral.format(e.getKey())));
      return l;
    }

    /** {@code from 127.0.0.70}, {@code from 3 sources, most from 127.0.0.70 (12)}. */
    String from() {
      List<Map.Entry<InetAddress, Long>> top = top();
      if (top.isEmpty()) {
        return "from sources not counted one by one";
      }
      if (top.size() == 1 && others == 0) {
        return "from " + IpLiteral.format(top.get(0).getKey());
      }
      return "from "
          + (others > 0 ? "more than " : "")
          + top.size()
          + " sources, most from "
          + IpLiteral.format(top.get(0).getKey())
          + " ("
          + top.get(0).getValue()
          + ")";
    }

    /** The most frequent source, for a fix. */
    String firstSource() {
      List<Map.Entry<InetAddress, Long>> top = top();
      return top.isEmpty() ? "the source" : IpLiteral.format(top.get(0).getKey());
    }

    String sourcesLine() {
      StringBuilder sb = new StringBuilder();
      List<Map.Entry<InetAddress, Long>> top = top();
      for (int i = 0; i < top.size() && i < SOURCES_SHOWN; i++) {
        sb.append(i == 0 ? "" : ", ")
            .append(IpLiteral.format(top.get(i).getKey()))
            .append(" (")
            .append(top.get(i).getValue())
            .append(')');
      }
      long rest = others;
      for (int i = SOURCES_SHOWN; i < top.size(); i++) {
        rest += top.get(i).getValue();
      }
      if (rest > 0) {
        sb.append(sb.length() == 0 ? "" : ", ").append(rest).append(" from other sources");
      }
      return sb.toString();
    }
  }

  @Override
  public int run(ProxyView view, List<Finding> out) {
    int checks = 0;
    for (Rule r : view.config().rules()) {
      Route route = view.routes().get(r.name());
      if (route == null) {
        continue;
      }
      checks++;
      Refusals.Episode e = route.refusals().episode();
      if (!e.any() || view.nowNanos() - e.lastNanos > Refusals.RECENT_WINDOW_NANOS) {
        continue;
      }
      Finding f = finding(view, r.name(), e);
      if (f != null) {
        out.add(f);
      }
    }
    return checks;
  }

  private static Finding finding(ProxyView view, String rule, Refusals.Episode e) {
    boolean fold = view.balancerFound(rule, Severity.CRITICAL);
    List<Cause> causes = causes(e);
    Cause main = null;
    for (Cause c : causes) {
      if (!(fold && c.reason == RefusalReason.NO_BACKEND)) {
        main = c;
        break;
      }
    }
    if (main == null) {
      return null; // only refusals for want of a backend, which the balancer's finding explains
    }
    List<String> evidence = new ArrayList<>();
    StringBuilder counts = new StringBuilder();
    for (RefusalReason reason : RefusalReason.values()) {
      long n = e.byReason[reason.ordinal()].sum();
      if (n > 0) {
        counts.append(counts.length() == 0 ? "" : ", ").append(n).append(' ').append(reason);
      }
    }
    evidence.add(
        "refused since "
            + e.since
            + " (when frontend "
            + e.frontend
            + "'s options in force took effect): "
            + counts);
    for (Cause c : causes) {
      evidence.add(
          c.reason
              + (c.match == null ? "" : " " + c.match)
              + ": "
              + c.total
              + (c.total == 1 ? " connection" : " connections")
              + ", from "
              + c.sourcesLine()
              + (fold && c.reason == RefusalReason.NO_BACKEND
                  ? " (see the rule's CRITICAL finding)"
                  : ""));
    }
    List<RefusedClient> recent = e.recent();
    for (int i = 0; i < recent.size() && i < RECENT_SHOWN; i++) {
      evidence.add("refused: " + recent.get(i));
    }
    FrontendOptions o = e.options;
    evidence.add(
        "frontend "
            + e.frontend
            + ": deny "
            + o.deny()
            + ", allow "
            + (o.allow().isEmpty() ? "(all)" : o.allow().toString())
            + ", maxConnections "
            + (o.maxConnections() == 0 ? "(no limit)" : Integer.toString(o.maxConnections()))
            + (o.acceptProxyProtocol()
                ? ", PROXY header expected within " + Durations.format(o.proxyProtocolTimeout())
                : ""));
    return new Finding(
        Severity.WARNING,
        Check.CLIENTS_REFUSED,
        rule,
        null,
        "frontend " + e.frontend + " refuses clients: " + what(main) + " (rule " + rule + ")",
        evidence,
        fix(main, e, rule));
  }

  /** The episode's refusals by (reason, match), most connections first. */
  private static List<Cause> causes(Refusals.Episode e) {
    Map<String, Cause> byKey = new LinkedHashMap<>();
    List<Map.Entry<Refusals.Group, LongAdder>> groups = new ArrayList<>(e.groups.entrySet());
    for (Map.Entry<Refusals.Group, LongAdder> g : groups) {
      Refusals.Group k = g.getKey();
      long n = g.getValue().sum();
      Cause c =
          byKey.computeIfAbsent(
              k.reason() + " " + k.match(), x -> new Cause(k.reason(), k.match()));
      c.total += n;
      if (k.source() == null) {
        c.others += n;
      } else {
        c.sources.merge(k.source(), n, Long::sum);
      }
    }
    List<Cause> out = new ArrayList<>(byKey.values());
    out.sort(
        Comparator.comparingLong((Cause c) -> c.total)
            .reversed()
            .thenComparing(c -> c.reason)
            .thenComparing(c -> String.valueOf(c.match)));
    return out;
  }

  private static String what(Cause c) {
    String n = c.total + (c.total == 1 ? " connection " : " connections ");
    switch (c.reason) {
      case DENY_LIST:
        return n + c.from() + " matched deny " + c.match;
      case NOT_IN_ALLOW_LIST:
        return n + c.from() + " not in the allow list " + c.match;
      case CONNECTION_LIMIT:
        return n
            + c.from()
            + " refused at its limit of "
            + c.match
            + ("1".equals(c.match) ? " connection" : " connections");
      case PROXY_HEADER_ERROR:
        return n + c.from() + " with a bad PROXY header" + (c.match == null ? "" : ": " + c.match);
      case PROXY_HEADER_TIMEOUT:
        return n + c.from() + " sent " + (c.match == null ? "no complete PROXY header" : c.match);
      default:
        return n
            + c.from()
            + " refused: no backend selected"
            + (c.match == null ? "" : " (" + c.match + ")");
    }
  }

  private static String fix(Cause c, Refusals.Episode e, String rule) {
    String fe = "frontend " + e.frontend;
    String source = c.firstSource();
    switch (c.reason) {
      case DENY_LIST:
        return "if "
            + source
            + " should reach rule "
            + rule
            + ", remove "
            + c.match
            + " from "
            + fe
            + "'s deny list, or narrow it so that it leaves "
            + source
            + " out, and reload; if the refusals are meant, nothing to do: the finding ends "
            + Refusals.RECENT_WINDOW
            + " after the last one";
      case NOT_IN_ALLOW_LIST:
        return "if "
            + source
            + " should reach rule "
            + rule
            + ", add it ("
            + source
            + (source.indexOf(':') >= 0 ? "/128" : "/32")
            + ") or its network to "
            + fe
            + "'s allow list, and reload";
      case CONNECTION_LIMIT:
        return "raise "
            + fe
            + "'s maxConnections above "
            + c.match
            + " (0 for no limit), and reload; or find which clients hold connections open";
      case PROXY_HEADER_ERROR:
        return "clients of "
            + fe
            + " must start with a PROXY v1 or v2 header (acceptProxyProtocol: true): have the"
            + " upstream balancer send one, or set acceptProxyProtocol: false if clients connect"
            + " directly, and reload";
      case PROXY_HEADER_TIMEOUT:
        return "raise "
            + fe
            + "'s proxyProtocolTimeout (now "
            + Durations.format(e.options.proxyProtocolTimeout())
            + ") if the upstream balancer is slow to send the header, or set"
            + " acceptProxyProtocol: false if clients connect directly, and reload";
      default:
        return "bring a backend of rule "
            + rule
            + "'s pool into rotation (start it, fix its probe, or set it ENABLED); the finding"
            + " ends "
            + Refusals.RECENT_WINDOW
            + " after the last refusal";
    }
  }
}
