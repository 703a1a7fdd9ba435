package io.lb4j.core.diagnose;

import static io.lb4j.core.diagnose.Texts.hostPort;

import io.lb4j.AdminState;
import io.lb4j.Finding.Check;
import io.lb4j.Finding.Severity;
import io.lb4j.HealthProbe;
import io.lb4j.ProbeOutcome;
import io.lb4j.ProbeResult;
import io.lb4j.Protocol;
import io.lb4j.spi.HealthChecker;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Checkpoints 2 and 3: a backend's data port refuses while its probe passes, and a backend port
 * that accepts on no backend (a typo). Connects once to every enabled member's data port of every
 * TCP rule, all at once, before the rules are judged.
 */
final class DataPortCheck implements RuleCheck {
  /** The longest a data-port connect may take before it counts as timed out. */
  static final Duration TIMEOUT = Duration.ofSeconds(1);

  /** A backend of a rule. */
  private record Key(String rule, String backend) {}

  private final Map<Key, ProbeResult> results;

  private DataPortCheck(Map<Key, ProbeResult> results) {
    this.results = results;
  }

  /** Connects to every data port of the view and returns the check over the results. */
  static DataPortCheck connect(BalancerView view, HealthChecker checker, InstantSource clock) {
    Map<Key, CompletableFuture<ProbeResult>> pending = new LinkedHashMap<>();
    for (RuleView r : view.rules()) {
      if (r.rule().protocol() != Protocol.TCP) {
        continue;
      }
      HealthProbe probe = r.probe();
      Duration timeout =
          probe == null || probe.timeout().compareTo(TIMEOUT) > 0 ? TIMEOUT : probe.timeout();
      HealthProbe connect =
          HealthProbe.builder("lb4j-diagnose")
              .interval(Duration.ofSeconds(5))
              .timeout(timeout)
              .build();
      for (BackendView s : r.members()) {
        if (s.backend().adminState() != AdminState.ENABLED) {
          continue;
        }
        CompletableFuture<ProbeResult> f;
        try {
          f = checker.check(s.target(), connect).toCompletableFuture();
        } catch (RuntimeException e) {
          f = CompletableFuture.failedFuture(e);
        }
        pending.put(new Key(r.name(), s.id()), f);
      }
    }
    Map<Key, ProbeResult> out = new HashMap<>();
    long deadline = System.nanoTime() + TIMEOUT.plusSeconds(1).toNanos();
    for (Map.Entry<Key, CompletableFuture<ProbeResult>> e : pending.entrySet()) {
      ProbeResult result;
      try {
        result = e.getValue().get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      } catch (TimeoutException ex) {
        result = new ProbeResult(clock.instant(), ProbeOutcome.TIMEOUT, TIMEOUT, "no answer");
      } catch (ExecutionException ex) {
        result =
            new ProbeResult(
                clock.instant(), ProbeOutcome.NETWORK_ERROR, Duration.ZERO, ex.toString());
      } catch (InterruptedException ex) {
        Thread.currentThread().interrupt();
        break;
      }
      out.put(e.getKey(), result);
    }
    return new DataPortCheck(out);
  }

  @Override
  public void run(BalancerView view, RuleView r, Findings out) {
    List<BackendView> checked =
        r.members().stream().filter(s -> results.containsKey(key(r, s))).toList();
    if (checked.isEmpty()) {
      return;
    }
    out.ran(checked.size());
    List<BackendView> failed =
        checked.stream().filter(s -> !results.get(key(r, s)).isSuccess()).toList();
    HealthProbe probe = r.probe();
    int backendPort = r.rule().backendPort();
    boolean separateProbePort = probe != null && probe.port() != 0 && probe.port() != backendPort;
    if (failed.size() == checked.size()) {
      List<String> evidence = new ArrayList<>();
      for (BackendView s : checked) {
        evidence.add(
            s.id()
                + " "
                + hostPort(s.target().getAddress(), s.target().getPort())
                + ": "
                + results.get(key(r, s)));
      }
      List<String> probePasses =
          checked.stream()
              .filter(s -> s.last() != null && s.last().isSuccess())
              .map(BackendView::id)
              .toList();
      String fix =
          "set the rule's backendPort to the port the service listens on, or start the service"
              + " on port "
              + backendPort;
      if (separateProbePort && !probePasses.isEmpty()) {
        evidence.add(
            "the probe's port "
                + probe.port()
                + " answers on "
                + String.join(", ", probePasses)
                + ": the service is up, on another port");
        fix =
            "check backendPort "
                + backendPort
                + " of rule "
                + r.name()
                + ": is it a typo (for example 1443 for 1433)? The probe's port "
                + probe.port()
                + " answers";
      }
      out.add(
          Severity.CRITICAL,
          Check.BACKEND_PORT_CLOSED_EVERYWHERE,
          r.name(),
          null,
          "rule "
              + r.name()
              + ": backend port "
              + backendPort
              + " accepts connections on none of its "
              + checked.size()
              + (checked.size() == 1 ? " backend" : " backends")
              + "; every flow it forwards fails",
          evidence,
          fix);
      return;
    }
    for (BackendView s : failed) {
      ProbeResult result = results.get(key(r, s));
      String where = hostPort(s.target().getAddress(), s.target().getPort());
      String refuses = result.outcome() == ProbeOutcome.REFUSED ? " refuses" : " does not answer";
      if (separateProbePort && s.last() != null && s.last().isSuccess()) {
        out.add(
            Severity.CRITICAL,
            Check.DATA_PORT_REFUSED,
            r.name(),
            s.id(),
            "backend "
                + s.id()
                + " is healthy by its probe on port "
                + probe.port()
                + ", but data port "
                + s.target().getPort()
                + refuses
                + ": flows sent to it fail",
            List.of(
                "data port " + where + ": " + result,
                "last probe on port " + probe.port() + ": " + s.last()),
            "start the service on port "
                + s.target().getPort()
                + ", or probe the data port itself (probe port 0) so the probe sees what"
                + " clients see");
      } else if (probe == null) {
        out.add(
            Severity.CRITICAL,
            Check.DATA_PORT_REFUSED,
            r.name(),
            s.id(),
            "backend "
                + s.id()
                + " has no probe and its data port "
                + s.target().getPort()
                + refuses
                + ": new flows keep going to it and fail",
            List.of("data port " + where + ": " + result),
            "start the service, and give rule "
                + r.name()
                + " a health probe so a dead backend leaves the rotation");
      }
    }
  }

  private static Key key(RuleView r, BackendView s) {
    return new Key(r.name(), s.id());
  }
}
