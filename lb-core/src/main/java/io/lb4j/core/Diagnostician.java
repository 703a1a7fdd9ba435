package io.lb4j.core;

import io.lb4j.AdminState;
import io.lb4j.Backend;
import io.lb4j.Diagnosis;
import io.lb4j.DistributionMode;
import io.lb4j.Finding;
import io.lb4j.Finding.Check;
import io.lb4j.Finding.Severity;
import io.lb4j.FlowExplanation;
import io.lb4j.FlowExplanation.Candidate;
import io.lb4j.FlowExplanation.Exclusion;
import io.lb4j.FlowKey;
import io.lb4j.Frontend;
import io.lb4j.HealthProbe;
import io.lb4j.HealthState;
import io.lb4j.InboundNatRule;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancingRule;
import io.lb4j.ProbeOutcome;
import io.lb4j.ProbeProtocol;
import io.lb4j.ProbeResult;
import io.lb4j.Protocol;
import io.lb4j.Selection;
import io.lb4j.SelectionAlgorithm;
import io.lb4j.core.hash.FlowHasher;
import io.lb4j.core.select.Selectors;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Explains flows and runs the troubleshooting checks of {@link L4LoadBalancer#diagnose()}: reads
 * the balancer's state under its lock, connects to data ports outside it, and turns what it saw
 * into {@link Finding}s with evidence and a fix. Nothing here is on the data path.
 */
final class Diagnostician {
  /** How far back the uneven-distribution check looks at new flows. */
  static final Duration WINDOW = Duration.ofMinutes(10);

  /** The longest a data-port connect may take before it counts as timed out. */
  static final Duration DATA_PORT_TIMEOUT = Duration.ofSeconds(1);

  /** Fewest new flows per backend in rotation before the distribution is judged. */
  static final int SAMPLES_PER_BACKEND = 20;

  /** Protocols that open more than one connection, by well-known port. */
  static final Map<Integer, String> MULTI_CONNECTION_PORTS =
      Map.of(
          21, "FTP (control on 21, data on another connection)",
          69, "TFTP (transfers from a new server port)",
          111, "ONC RPC portmapper (services on other ports)",
          135, "MS RPC endpoint mapper (services on other ports)",
          554, "RTSP (media on separate connections)",
          1723, "PPTP (GRE tunnel beside the TCP control connection)",
          5060, "SIP (media on separate RTP flows)");

  private final L4LoadBalancer lb;
  private final List<Finding> findings = new ArrayList<>();
  private int checks;

  Diagnostician(L4LoadBalancer lb) {
    this.lb = lb;
  }

  // ---------------------------------------------------------------- explain

  static FlowExplanation explain(L4LoadBalancer lb, FlowKey flow) {
    RuleState rule = lb.snapshot.find(flow);
    if (rule == null) {
      Selection none = L4LoadBalancer.NO_RULE;
      String why;
      synchronized (lb.lock) {
        why = noRuleReason(lb.config, flow);
      }
      return new FlowExplanation(
          flow, null, why, null, List.of(), 0, null, List.of(), none, false, none);
    }
    List<Candidate> candidates;
    String description;
    DistributionMode mode = rule.nat ? null : rule.mode;
    SelectionAlgorithm algorithm = null;
    synchronized (lb.lock) {
      LoadBalancingRule lr = rule.nat ? null : lb.config.loadBalancingRule(rule.name);
      if (lr != null) {
        algorithm = lr.selection().algorithm();
        description =
            "load-balancing rule on "
                + listen(lb.config, lr.frontend(), lr.frontendPort(), lr.protocol())
                + ", pool '"
                + lr.backendPool()
                + "', backend port "
                + lr.backendPort();
      } else {
        InboundNatRule nr = natRule(lb.config, rule.name);
        description =
            "inbound NAT rule on "
                + listen(lb.config, nr.frontend(), nr.frontendPort(), nr.protocol())
                + " to backend '"
                + nr.backend()
                + "' port "
                + nr.backendPort()
                + "; nothing is hashed";
      }
      candidates = candidates(lb, rule, lr);
    }
    long hash = mode == null ? 0 : FlowHasher.hash(flow, mode, lb.seed);
    int index = rule.nat ? rule.selector.select(0) : rule.selector.select(hash);
    Selection fresh = index < 0 ? rule.none : rule.slots[index].selection;
    BackendSlot pinned = lb.flows.peek(flow);
    boolean fromTable = pinned != null && !pinned.disabled;
    return new FlowExplanation(
        flow,
        rule.name,
        description,
        mode,
        mode == null ? List.of() : hashedFields(flow, mode),
        hash,
        algorithm,
        candidates,
        fromTable ? pinned.selection : fresh,
        fromTable,
        fresh);
  }

  private static List<Candidate> candidates(
      L4LoadBalancer lb, RuleState rule, LoadBalancingRule lr) {
    List<Candidate> out = new ArrayList<>();
    for (int i = 0; i < rule.slots.length; i++) {
      BackendSlot s = rule.slots[i];
      Exclusion why = exclusion(s, rule, i);
      String detail = "";
      if (why == null) {
        if (lr != null && s.effective != HealthState.HEALTHY) {
          detail =
              s.effective
                  + ", but in rotation: the rule's "
                  + lr.noHealthyBackendPolicy()
                  + " policy spreads new flows over unhealthy backends ("
                  + lb.cause(s, lr)
                  + ")";
        }
      } else {
        detail = detail(lb, s, rule, lr, why, i);
      }
      out.add(candidate(s, why, detail));
    }
    Map<String, BackendSlot> all = lb.slotsByRule.getOrDefault(rule.name, Map.of());
    for (BackendSlot s : all.values()) {
      if (!s.member && s.active() > 0) {
        out.add(
            candidate(
                s,
                Exclusion.REMOVED,
                "removed from the pool; " + count(s.active(), "established flow") + " remain"));
      }
    }
    return out;
  }

  private static Candidate candidate(BackendSlot s, Exclusion why, String detail) {
    InetSocketAddress t = s.selection.target();
    return new Candidate(
        s.backendId,
        hostPort(t.getAddress(), t.getPort()),
        s.backend.weight(),
        s.effective == null ? HealthState.UNKNOWN : s.effective,
        s.active(),
        why,
        detail);
  }

  /** Why the slot at {@code index} takes no new flows, or null; called under the lock. */
  static Exclusion exclusion(BackendSlot s, RuleState rule, int index) {
    if (!s.member) {
      return Exclusion.REMOVED;
    }
    Backend b = s.backend;
    if (b.adminState() == AdminState.DISABLED) {
      return Exclusion.DISABLED;
    }
    if (b.adminState() == AdminState.DRAINING) {
      return Exclusion.DRAINING;
    }
    if (rule.nat) {
      return null;
    }
    if (b.weight() == 0) {
      return Exclusion.WEIGHT_ZERO;
    }
    if (!s.inRotation) {
      if (s.ejected()) {
        return Exclusion.EJECTED;
      }
      return s.effective == HealthState.UNKNOWN ? Exclusion.NOT_PROBED_YET : Exclusion.UNHEALTHY;
    }
    if (Selectors.overBound(rule.selector, index, s.active()) != null) {
      return Exclusion.FULL;
    }
    return null;
  }

  private static String detail(
      L4LoadBalancer lb,
      BackendSlot s,
      RuleState rule,
      LoadBalancingRule lr,
      Exclusion why,
      int index) {
    switch (why) {
      case DISABLED:
        return "admin state DISABLED: no flows; pinned flows move on their next packet";
      case DRAINING:
        return "admin state DRAINING: established flows continue, new flows go elsewhere";
      case WEIGHT_ZERO:
        return "weight 0";
      case FULL:
        return Selectors.overBound(rule.selector, index, s.active());
      case NOT_PROBED_YET:
        return "waiting for its first probe";
      default:
        return lr == null ? "" : lb.cause(s, lr);
    }
  }

  private static List<String> hashedFields(FlowKey flow, DistributionMode mode) {
    List<String> out = new ArrayList<>();
    out.add("source " + flow.sourceAddress().getHostAddress());
    if (mode == DistributionMode.FIVE_TUPLE) {
      out.add("source port " + flow.sourcePort());
    }
    out.add("destination " + flow.destinationAddress().getHostAddress());
    if (mode == DistributionMode.FIVE_TUPLE) {
      out.add("destination port " + flow.destinationPort());
    }
    if (mode != DistributionMode.SOURCE_IP) {
      out.add("protocol " + flow.protocol());
    }
    return out;
  }

  private static String noRuleReason(LoadBalancerConfig config, FlowKey flow) {
    String wanted =
        hostPort(flow.destinationAddress(), flow.destinationPort()) + "/" + flow.protocol();
    List<String> rules = new ArrayList<>();
    List<String> close = new ArrayList<>();
    for (LoadBalancingRule r : config.loadBalancingRules()) {
      note(config, flow, r.name(), r.frontend(), r.frontendPort(), r.protocol(), rules, close);
    }
    for (InboundNatRule r : config.inboundNatRules()) {
      note(config, flow, r.name(), r.frontend(), r.frontendPort(), r.protocol(), rules, close);
    }
    StringBuilder sb = new StringBuilder("no rule listens on ").append(wanted);
    if (rules.isEmpty()) {
      return sb.append("; no rules are configured").toString();
    }
    if (!close.isEmpty()) {
      sb.append("; nearly: ").append(String.join("; ", close));
    }
    sb.append("; rules: ").append(String.join(", ", rules.subList(0, Math.min(10, rules.size()))));
    if (rules.size() > 10) {
      sb.append(" and ").append(rules.size() - 10).append(" more");
    }
    return sb.toString();
  }

  private static void note(
      LoadBalancerConfig config,
      FlowKey flow,
      String name,
      String frontend,
      int port,
      Protocol protocol,
      List<String> rules,
      List<String> close) {
    InetAddress address = config.frontend(frontend).address();
    boolean addressMatches =
        address.isAnyLocalAddress() || address.equals(flow.destinationAddress());
    boolean portMatches = port == flow.destinationPort();
    boolean protocolMatches = protocol == flow.protocol();
    rules.add(name + " on " + listen(config, frontend, port, protocol));
    if (portMatches && protocolMatches && !addressMatches) {
      close.add(name + " listens on port " + port + " but on frontend address " + address);
    } else if (portMatches && addressMatches && !protocolMatches) {
      close.add(name + " listens on port " + port + " but for " + protocol);
    } else if (addressMatches && protocolMatches && Math.abs(port - flow.destinationPort()) < 10) {
      close.add(name + " listens on port " + port + ", not " + flow.destinationPort());
    }
  }

  private static String listen(
      LoadBalancerConfig config, String frontend, int port, Protocol protocol) {
    Frontend f = config.frontend(frontend);
    return hostPort(f.address(), port) + "/" + protocol;
  }

  private static InboundNatRule natRule(LoadBalancerConfig config, String name) {
    for (InboundNatRule r : config.inboundNatRules()) {
      if (r.name().equals(name)) {
        return r;
      }
    }
    throw new IllegalStateException("no NAT rule " + name);
  }

  static String hostPort(InetAddress address, int port) {
    String host = address.getHostAddress();
    return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
  }

  // ---------------------------------------------------------------- diagnose

  /** A backend of a rule as the lock saw it. */
  private record SlotView(
      BackendSlot slot,
      String id,
      Backend backend,
      InetSocketAddress target,
      boolean member,
      HealthState health,
      boolean inRotation,
      Exclusion exclusion,
      String cause,
      int active,
      InetSocketAddress probeAddress,
      List<ProbeResult> results,
      int consecutiveFailures,
      Instant drainDeadline) {

    ProbeResult last() {
      return results.isEmpty() ? null : results.get(results.size() - 1);
    }

    boolean serving() {
      return member && backend.adminState() == AdminState.ENABLED && backend.weight() > 0;
    }
  }

  /** A rule as the lock saw it. */
  private record RuleView(
      String name,
      LoadBalancingRule lb,
      InboundNatRule nat,
      Protocol protocol,
      int backendPort,
      HealthProbe probe,
      List<SlotView> slots) {

    List<SlotView> members() {
      return slots.stream().filter(SlotView::member).toList();
    }
  }

  Diagnosis diagnose() {
    List<RuleView> rules = new ArrayList<>();
    Instant at;
    synchronized (lb.lock) {
      at = lb.clock.instant();
      Snapshot snap = lb.snapshot;
      for (RuleState r : snap.rules) {
        rules.add(view(r));
      }
    }
    Map<SlotView, ProbeResult> dataPorts = checkDataPorts(rules);
    Map<BackendSlot, List<FlowKey>> flowsBySlot = new HashMap<>();
    lb.flows.forEach(
        (flow, slot) -> flowsBySlot.computeIfAbsent(slot, s -> new ArrayList<>()).add(flow));
    for (RuleView r : rules) {
      if (r.lb != null) {
        probes(r);
        allUnhealthy(r);
        distribution(r);
        smells(r);
      }
      dataPorts(r, dataPorts);
      outOfRotation(r, flowsBySlot);
      hairpin(r, flowsBySlot);
    }
    return new Diagnosis(at, checks, findings);
  }

  private RuleView view(RuleState r) {
    LoadBalancingRule lr = r.nat ? null : lb.config.loadBalancingRule(r.name);
    InboundNatRule nr = r.nat ? natRule(lb.config, r.name) : null;
    HealthProbe probe = lr == null || lr.probe() == null ? null : lb.config.probe(lr.probe());
    List<SlotView> slots = new ArrayList<>();
    for (int i = 0; i < r.slots.length; i++) {
      slots.add(slotView(r.slots[i], exclusion(r.slots[i], r, i), lr));
    }
    for (BackendSlot s : lb.slotsByRule.getOrDefault(r.name, Map.of()).values()) {
      if (!s.member) {
        slots.add(slotView(s, Exclusion.REMOVED, lr));
      }
    }
    return new RuleView(
        r.name, lr, nr, r.protocol, lr != null ? lr.backendPort() : nr.backendPort(), probe, slots);
  }

  private SlotView slotView(BackendSlot s, Exclusion exclusion, LoadBalancingRule lr) {
    return new SlotView(
        s,
        s.backendId,
        s.backend,
        s.selection.target(),
        s.member,
        s.effective == null ? HealthState.UNKNOWN : s.effective,
        s.inRotation,
        exclusion,
        lr == null ? "" : lb.cause(s, lr),
        s.active(),
        s.target == null ? null : s.target.address(),
        s.target == null ? List.of() : s.target.results(),
        s.target == null ? 0 : s.target.consecutiveFailures(),
        s.drainDeadline);
  }

  // 1. Probe failing.
  private void probes(RuleView r) {
    if (r.probe == null) {
      return;
    }
    for (SlotView s : r.members()) {
      checks++;
      ProbeResult last = s.last();
      if (last == null || last.isSuccess() || s.backend.adminState() == AdminState.DISABLED) {
        continue;
      }
      boolean down = s.health == HealthState.UNHEALTHY;
      List<String> evidence = new ArrayList<>();
      evidence.add(
          "probe '"
              + r.probe.name()
              + "' ("
              + r.probe.protocol()
              + " "
              + hostPort(s.probeAddress.getAddress(), s.probeAddress.getPort())
              + (r.probe.protocol() == ProbeProtocol.TCP ? "" : " " + r.probe.path())
              + ", every "
              + human(r.probe.interval())
              + ", timeout "
              + human(r.probe.timeout())
              + ", unhealthy after "
              + r.probe.unhealthyThreshold()
              + ")");
      evidence.add(
          s.consecutiveFailures + " failures in a row; backend is " + s.health + " for the rule");
      List<ProbeResult> results = s.results;
      for (int i = Math.max(0, results.size() - 5); i < results.size(); i++) {
        evidence.add("probe result: " + results.get(i));
      }
      add(
          down ? Severity.CRITICAL : Severity.WARNING,
          Check.PROBE_FAILING,
          r.name,
          s.id,
          "backend "
              + s.id
              + " fails its probe on "
              + hostPort(s.probeAddress.getAddress(), s.probeAddress.getPort())
              + ": "
              + meaning(last.outcome(), s.probeAddress.getPort())
              + (down ? "" : " (not unhealthy yet)"),
          evidence,
          fix(last.outcome(), s.probeAddress.getPort(), r.probe));
    }
  }

  private static String meaning(ProbeOutcome outcome, int port) {
    switch (outcome) {
      case REFUSED:
        return "connection refused, nothing listens on port " + port;
      case TIMEOUT:
        return "no answer within the timeout, packets are dropped (firewall, ACL, route) or the"
            + " service is stuck";
      case UNEXPECTED_STATUS:
        return "the service answers with an unexpected HTTP status";
      case TLS_ERROR:
        return "the TLS handshake fails";
      case MALFORMED_RESPONSE:
        return "the answer is not HTTP";
      case EARLY_CLOSE:
        return "the service closes the connection before answering";
      default:
        return "a network error";
    }
  }

  private static String fix(ProbeOutcome outcome, int port, HealthProbe probe) {
    switch (outcome) {
      case REFUSED:
        return "start the service on port "
            + port
            + ", or point the probe at the port it listens on";
      case TIMEOUT:
        return "allow the balancer's probes through the backend's firewall, ACL or security"
            + " group to port "
            + port
            + ", check the route back, or raise the probe timeout ("
            + human(probe.timeout())
            + ") if the service is just slow";
      case UNEXPECTED_STATUS:
        return "make "
            + probe.path()
            + " answer with one of "
            + probe.expectedStatuses()
            + ", or change the probe's path or expected statuses";
      case TLS_ERROR:
        return "check that port " + port + " speaks TLS, or use an HTTP or TCP probe";
      case MALFORMED_RESPONSE:
      case EARLY_CLOSE:
        return "check that port " + port + " serves HTTP, or use a TCP probe";
      default:
        return "check the backend's address and network";
    }
  }

  // 2 and 3. Data ports.
  private Map<SlotView, ProbeResult> checkDataPorts(List<RuleView> rules) {
    Map<SlotView, CompletableFuture<ProbeResult>> pending = new LinkedHashMap<>();
    for (RuleView r : rules) {
      if (r.protocol != Protocol.TCP) {
        continue;
      }
      Duration timeout =
          r.probe == null || r.probe.timeout().compareTo(DATA_PORT_TIMEOUT) > 0
              ? DATA_PORT_TIMEOUT
              : r.probe.timeout();
      HealthProbe connect =
          HealthProbe.builder("lb4j-diagnose")
              .interval(Duration.ofSeconds(5))
              .timeout(timeout)
              .build();
      for (SlotView s : r.members()) {
        if (s.backend.adminState() != AdminState.ENABLED) {
          continue;
        }
        CompletableFuture<ProbeResult> f;
        try {
          f = lb.checker.check(s.target, connect).toCompletableFuture();
        } catch (RuntimeException e) {
          f = CompletableFuture.failedFuture(e);
        }
        pending.put(s, f);
      }
    }
    Map<SlotView, ProbeResult> out = new HashMap<>();
    long deadline = System.nanoTime() + DATA_PORT_TIMEOUT.plusSeconds(1).toNanos();
    for (Map.Entry<SlotView, CompletableFuture<ProbeResult>> e : pending.entrySet()) {
      ProbeResult result;
      try {
        result = e.getValue().get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      } catch (TimeoutException ex) {
        result =
            new ProbeResult(
                lb.clock.instant(), ProbeOutcome.TIMEOUT, DATA_PORT_TIMEOUT, "no answer");
      } catch (ExecutionException ex) {
        result =
            new ProbeResult(
                lb.clock.instant(), ProbeOutcome.NETWORK_ERROR, Duration.ZERO, ex.toString());
      } catch (InterruptedException ex) {
        Thread.currentThread().interrupt();
        break;
      }
      out.put(e.getKey(), result);
    }
    return out;
  }

  private void dataPorts(RuleView r, Map<SlotView, ProbeResult> results) {
    List<SlotView> checked = r.members().stream().filter(results::containsKey).toList();
    if (checked.isEmpty()) {
      return;
    }
    checks += checked.size();
    List<SlotView> failed = checked.stream().filter(s -> !results.get(s).isSuccess()).toList();
    boolean separateProbePort =
        r.probe != null && r.probe.port() != 0 && r.probe.port() != r.backendPort;
    if (failed.size() == checked.size()) {
      List<String> evidence = new ArrayList<>();
      for (SlotView s : checked) {
        evidence.add(
            s.id
                + " "
                + hostPort(s.target.getAddress(), s.target.getPort())
                + ": "
                + results.get(s));
      }
      List<String> probePasses =
          checked.stream()
              .filter(s -> s.last() != null && s.last().isSuccess())
              .map(SlotView::id)
              .toList();
      String fix =
          "set the rule's backendPort to the port the service listens on, or start the service"
              + " on port "
              + r.backendPort;
      if (separateProbePort && !probePasses.isEmpty()) {
        evidence.add(
            "the probe's port "
                + r.probe.port()
                + " answers on "
                + String.join(", ", probePasses)
                + ": the service is up, on another port");
        fix =
            "check backendPort "
                + r.backendPort
                + " of rule "
                + r.name
                + ": is it a typo (for example 1443 for 1433)? The probe's port "
                + r.probe.port()
                + " answers";
      }
      add(
          Severity.CRITICAL,
          Check.BACKEND_PORT_CLOSED_EVERYWHERE,
          r.name,
          null,
          "rule "
              + r.name
              + ": backend port "
              + r.backendPort
              + " accepts connections on none of its "
              + checked.size()
              + (checked.size() == 1 ? " backend" : " backends")
              + "; every flow it forwards fails",
          evidence,
          fix);
      return;
    }
    for (SlotView s : failed) {
      ProbeResult result = results.get(s);
      String where = hostPort(s.target.getAddress(), s.target.getPort());
      if (separateProbePort && s.last() != null && s.last().isSuccess()) {
        add(
            Severity.CRITICAL,
            Check.DATA_PORT_REFUSED,
            r.name,
            s.id,
            "backend "
                + s.id
                + " is healthy by its probe on port "
                + r.probe.port()
                + ", but data port "
                + s.target.getPort()
                + (result.outcome() == ProbeOutcome.REFUSED ? " refuses" : " does not answer")
                + ": flows sent to it fail",
            List.of(
                "data port " + where + ": " + result,
                "last probe on port " + r.probe.port() + ": " + s.last()),
            "start the service on port "
                + s.target.getPort()
                + ", or probe the data port itself (probe port 0) so the probe sees what"
                + " clients see");
      } else if (r.probe == null) {
        add(
            Severity.CRITICAL,
            Check.DATA_PORT_REFUSED,
            r.name,
            s.id,
            "backend "
                + s.id
                + " has no probe and its data port "
                + s.target.getPort()
                + (result.outcome() == ProbeOutcome.REFUSED ? " refuses" : " does not answer")
                + ": new flows keep going to it and fail",
            List.of("data port " + where + ": " + result),
            "start the service, and give rule "
                + r.name
                + " a health probe so a dead backend leaves the rotation");
      }
    }
  }

  // 4. Uneven distribution.
  private void distribution(RuleView r) {
    SelectionAlgorithm algorithm = r.lb.selection().algorithm();
    boolean bounded = r.lb.selection().boundedLoadFactor() > 0;
    if (!algorithm.isConsistentHash()
        && algorithm != SelectionAlgorithm.ROUND_ROBIN
        && algorithm != SelectionAlgorithm.WEIGHTED_ROUND_ROBIN) {
      return; // least connections and P2C follow load, not weights, by design
    }
    List<SlotView> serving = r.members().stream().filter(SlotView::serving).toList();
    if (serving.size() < 2) {
      return;
    }
    long since = lb.ticker.read() - WINDOW.toNanos();
    List<FlowWindow.Sample> samples = lb.window.recent(r.name, since);
    int n = samples.size();
    if (n < SAMPLES_PER_BACKEND * serving.size()) {
      return;
    }
    checks++;
    Map<BackendSlot, Integer> counts = new HashMap<>();
    Map<InetAddress, Integer> sources = new HashMap<>();
    for (FlowWindow.Sample s : samples) {
      counts.merge(s.slot(), 1, Integer::sum);
      sources.merge(s.flow().sourceAddress(), 1, Integer::sum);
    }
    long configured = serving.stream().mapToLong(s -> s.backend.weight()).sum();
    long rotation =
        serving.stream().filter(SlotView::inRotation).mapToLong(s -> s.backend.weight()).sum();
    boolean unevenVsConfig = false;
    boolean unevenVsRotation = false;
    List<String> evidence = new ArrayList<>();
    for (SlotView s : serving) {
      int c = counts.getOrDefault(s.slot, 0);
      double p = (double) s.backend.weight() / configured;
      unevenVsConfig |= uneven(c, n, p);
      double q = s.inRotation ? (double) s.backend.weight() / rotation : 0;
      unevenVsRotation |= s.inRotation && uneven(c, n, q);
      evidence.add(
          String.format(
              Locale.ROOT,
              "%s weight %d: %d of %d new flows (%.1f%%), its weight's share %.1f%%%s",
              s.id,
              s.backend.weight(),
              c,
              n,
              100.0 * c / n,
              100.0 * p,
              s.inRotation ? "" : " (out of rotation: " + s.exclusion + ", " + s.cause + ")"));
    }
    Map.Entry<InetAddress, Integer> top =
        sources.entrySet().stream().max(Map.Entry.comparingByValue()).orElseThrow();
    double topShare = (double) top.getValue() / n;
    evidence.add(
        String.format(
            Locale.ROOT,
            "%d distinct source addresses; the busiest, %s, opened %.1f%% of new flows",
            sources.size(),
            top.getKey().getHostAddress(),
            100.0 * topShare));
    List<SlotView> out = serving.stream().filter(s -> !s.inRotation).toList();
    DistributionMode mode = r.lb.distributionMode();
    if (unevenVsRotation && !bounded) {
      String what;
      String fix;
      if (mode != DistributionMode.FIVE_TUPLE && sources.size() < 10 * serving.size()) {
        what =
            "new flows are uneven: client-IP persistence ("
                + mode
                + ") with only "
                + sources.size()
                + " distinct clients sends each client's flows to one backend";
        fix =
            "use FIVE_TUPLE distribution unless the application needs a client to stay on one"
                + " backend; persistence evens out only with many clients";
      } else if (topShare >= 0.5) {
        what =
            String.format(
                Locale.ROOT,
                "new flows are uneven: one source address, %s, opens %.0f%% of them (clients"
                    + " behind a proxy or NAT look like one client)",
                top.getKey().getHostAddress(),
                100 * topShare);
        fix =
            mode == DistributionMode.FIVE_TUPLE
                ? "the source ports still spread its flows; if they do not, the client reuses"
                    + " few connections: have it open more, or balance behind the proxy"
                : "switch to FIVE_TUPLE so the source port spreads one address's flows, or"
                    + " balance behind the proxy or NAT";
      } else {
        what =
            "new flows are uneven against the weights, with many sources and no backend out"
                + " of rotation";
        fix =
            "look at the backends' keys and weights (consistent hashing with few backends is"
                + " uneven by a few percent; MAGLEV is the most even), and at long-lived flows";
      }
      add(Severity.WARNING, Check.UNEVEN_DISTRIBUTION, r.name, null, what, evidence, fix);
    } else if (unevenVsConfig && !out.isEmpty()) {
      add(
          Severity.WARNING,
          Check.UNEVEN_DISTRIBUTION,
          r.name,
          null,
          "new flows are uneven: "
              + out.size()
              + " of "
              + serving.size()
              + " backends are out of rotation ("
              + String.join(", ", out.stream().map(s -> s.id + " " + s.exclusion).toList())
              + ") and the others take their share",
          evidence,
          "bring the backends back (see their probe findings), or remove them from the pool");
    } else if (serving.stream().mapToInt(s -> s.backend.weight()).distinct().count() > 1) {
      add(
          Severity.INFO,
          Check.UNEVEN_DISTRIBUTION,
          r.name,
          null,
          "new flows follow unequal weights: shares differ by design",
          evidence,
          "nothing to do if the weights are meant; set equal weights for equal shares");
    }
  }

  /** Whether {@code c} of {@code n} is far (4 standard deviations and 50%) from share {@code p}. */
  static boolean uneven(int c, int n, double p) {
    double expected = n * p;
    double sd = Math.sqrt(n * p * (1 - p));
    double off = Math.abs(c - expected);
    return off > 4 * Math.max(sd, 1) && off > 0.5 * expected;
  }

  // 5. Flows on out-of-rotation backends.
  private void outOfRotation(RuleView r, Map<BackendSlot, List<FlowKey>> flowsBySlot) {
    Duration idle = r.lb != null ? r.lb.idleTimeout() : r.nat.idleTimeout();
    for (SlotView s : r.slots) {
      checks++;
      if (s.active == 0) {
        continue;
      }
      String state;
      Severity severity = Severity.WARNING;
      if (!s.member) {
        state = "was removed from the pool";
      } else if (s.backend.adminState() == AdminState.DRAINING) {
        state = "is DRAINING";
        severity = Severity.INFO;
      } else if (s.backend.adminState() == AdminState.DISABLED) {
        state = "is DISABLED";
      } else if (s.health == HealthState.UNHEALTHY && !s.inRotation) {
        state = "is UNHEALTHY (" + s.cause + ")";
      } else {
        continue;
      }
      String until;
      if (s.drainDeadline != null) {
        until =
            "until "
                + s.drainDeadline
                + ", when the rule's CLOSE_AFTER_DRAIN_TIMEOUT policy closes them";
      } else if (s.member && s.backend.adminState() == AdminState.DISABLED) {
        until = "until their next packet, which moves them to another backend";
      } else {
        until =
            "until they close, or until each has been idle for the rule's idle timeout ("
                + human(idle)
                + "); established flows are kept";
      }
      List<String> evidence = new ArrayList<>();
      evidence.add(count(s.active, "established flow") + ", " + until);
      List<FlowKey> flows = flowsBySlot.getOrDefault(s.slot, List.of());
      for (int i = 0; i < Math.min(3, flows.size()); i++) {
        evidence.add("flow " + flows.get(i));
      }
      add(
          severity,
          Check.FLOWS_ON_OUT_OF_ROTATION_BACKEND,
          r.name,
          s.id,
          "backend " + s.id + " " + state + " but still carries " + count(s.active, "flow"),
          evidence,
          severity == Severity.INFO
              ? "wait for the flows to end before taking the backend down; to cut them, set it"
                  + " DISABLED or use CLOSE_AFTER_DRAIN_TIMEOUT with a drain timeout"
              : "nothing to do if they may finish; to end them sooner, set the rule's"
                  + " unhealthyFlowPolicy to CLOSE_AFTER_DRAIN_TIMEOUT, or close them at the"
                  + " backend");
    }
  }

  // 6. Hairpin.
  private void hairpin(RuleView r, Map<BackendSlot, List<FlowKey>> flowsBySlot) {
    checks++;
    Map<InetAddress, String> backendAt = new HashMap<>();
    for (SlotView s : r.slots) {
      backendAt.put(s.backend.address(), s.id);
    }
    List<String> evidence = new ArrayList<>();
    int count = 0;
    int self = 0;
    for (SlotView s : r.slots) {
      for (FlowKey flow : flowsBySlot.getOrDefault(s.slot, List.of())) {
        String from = backendAt.get(flow.sourceAddress());
        if (from == null) {
          continue;
        }
        count++;
        if (from.equals(s.id)) {
          self++;
        }
        if (evidence.size() < 5) {
          evidence.add(
              "flow "
                  + flow
                  + " from backend "
                  + from
                  + " went to "
                  + s.id
                  + (from.equals(s.id) ? " (itself)" : ""));
        }
      }
    }
    if (count == 0) {
      return;
    }
    evidence.add(
        0,
        count(count, "live flow")
            + " from backends of the pool, "
            + self
            + " sent back to the backend that opened it");
    add(
        Severity.WARNING,
        Check.HAIRPIN,
        r.name,
        null,
        "backends of rule "
            + r.name
            + "'s pool reach the service through the balancer (hairpin): a flow may come back"
            + " to the backend that opened it",
        evidence,
        "call the service locally or through another frontend; cloud balancers (Azure Load"
            + " Balancer, AWS NLB with client IP preservation) drop or break such flows, lb4j's"
            + " proxy carries them but counts them");
  }

  // 7. All backends unhealthy.
  private void allUnhealthy(RuleView r) {
    checks++;
    List<SlotView> serving = r.members().stream().filter(SlotView::serving).toList();
    if (serving.isEmpty() || serving.stream().anyMatch(s -> s.health == HealthState.HEALTHY)) {
      return;
    }
    List<String> evidence = new ArrayList<>();
    for (SlotView s : serving) {
      evidence.add(s.id + " " + s.health + ": " + s.cause);
    }
    String policy;
    switch (r.lb.noHealthyBackendPolicy()) {
      case FAIL_OPEN:
        policy = "FAIL_OPEN is in force: new flows are spread over all of them anyway";
        break;
      case PANIC:
        policy =
            "PANIC is in force: with under "
                + r.lb.panicThresholdPercent()
                + "% healthy, new flows are spread over all of them anyway";
        break;
      default:
        policy = "FAIL_CLOSED is in force: new flows are refused";
    }
    evidence.add(policy);
    add(
        Severity.CRITICAL,
        Check.ALL_BACKENDS_UNHEALTHY,
        r.name,
        null,
        "no backend of rule " + r.name + " is healthy; " + policy,
        evidence,
        "fix the probe findings of the backends; if the probe itself is wrong (port, path),"
            + " fix the probe");
  }

  // 8. Configuration smells.
  private void smells(RuleView r) {
    LoadBalancingRule lr = r.lb;
    checks += 3;
    if (lr.floatingIp()) {
      add(
          Severity.WARNING,
          Check.FLOATING_IP,
          r.name,
          null,
          "rule " + r.name + " requests floating IP (direct server return)",
          List.of("floatingIp: true"),
          "each backend must accept traffic for the frontend address itself (a loopback alias"
              + " with ARP off) and answer from it; lb4j's proxy relays through its own address"
              + " and refuses such rules, so turn it off unless an embedder forwards packets");
    }
    if (r.probe != null) {
      Duration detection = r.probe.interval().multipliedBy(r.probe.unhealthyThreshold());
      if (lr.idleTimeout().compareTo(detection) < 0) {
        add(
            Severity.WARNING,
            Check.IDLE_TIMEOUT_SHORTER_THAN_DETECTION,
            r.name,
            null,
            "rule "
                + r.name
                + "'s idle timeout ("
                + human(lr.idleTimeout())
                + ") is shorter than the probe's detection time ("
                + human(r.probe.interval())
                + " x "
                + r.probe.unhealthyThreshold()
                + " = "
                + human(detection)
                + ")",
            List.of(
                "idleTimeout " + human(lr.idleTimeout()),
                "probe '"
                    + r.probe.name()
                    + "' interval "
                    + human(r.probe.interval())
                    + ", unhealthyThreshold "
                    + r.probe.unhealthyThreshold()),
            "clients reconnect after idle drops faster than a dead backend is noticed, so their"
                + " retries keep landing on it: raise the idle timeout or probe more often");
      }
    }
    if (lr.distributionMode() == DistributionMode.FIVE_TUPLE) {
      String protocol = MULTI_CONNECTION_PORTS.get(lr.frontendPort());
      if (protocol == null) {
        protocol = MULTI_CONNECTION_PORTS.get(lr.backendPort());
      }
      if (protocol != null) {
        add(
            Severity.WARNING,
            Check.MULTI_CONNECTION_PROTOCOL,
            r.name,
            null,
            "rule "
                + r.name
                + " balances "
                + protocol
                + " per 5-tuple: its connections can land on different backends",
            List.of(
                "frontend port " + lr.frontendPort() + ", backend port " + lr.backendPort(),
                "distributionMode FIVE_TUPLE"),
            "use SOURCE_IP (client-IP persistence) so a client's connections meet one backend");
      }
    }
  }

  private void add(
      Severity severity,
      Check check,
      String rule,
      String backend,
      String what,
      List<String> evidence,
      String fix) {
    findings.add(new Finding(severity, check, rule, backend, what, evidence, fix));
  }

  /** Returns "1 flow" or "3 flows". */
  static String count(int n, String noun) {
    return n + " " + noun + (n == 1 ? "" : "s");
  }

  static String human(Duration d) {
    if (d.toMillis() % 1000 != 0 || d.isZero()) {
      return d.toMillis() + " ms";
    }
    long s = d.toSeconds();
    if (s % 3600 == 0) {
      return s / 3600 + " h";
    }
    if (s % 60 == 0) {
      return s / 60 + " min";
    }
    return s + " s";
  }
}
