package io.lb4j.core.diagnose;

import static io.lb4j.core.diagnose.Texts.hostPort;

import io.lb4j.AdminState;
import io.lb4j.Finding.Check;
import io.lb4j.Finding.Severity;
import io.lb4j.HealthProbe;
import io.lb4j.HealthState;
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
 * Checkpoints 2 and 3: a backend's data port fails while its probe passes, and a backend port that
 * accepts on no backend (a typo). {@link #connect} first connects once to every enabled member's
 * data port of every TCP rule, all at once; the results are facts the other checks share.
 *
 * <p>Causes are told apart: a data port that <i>refuses</i> (nothing listens: start the service)
 * from one that <i>does not answer</i> (filtered, or an accept queue full: the firewall, not the
 * service); a port closed on every backend of a rule whose backends share one port (a typo in
 * {@code backendPort}) from backends that are all down ({@link AllUnhealthyCheck} covers those,
 * with the data ports as evidence) and from backends on per-backend ports (no one port to blame). A
 * data port silent on a host whose probe port is silent too is the host, reported by {@link
 * ProbeFailingCheck} as {@code BACKEND_HOST_SILENT}, not repeated here.
 */
final class DataPortCheck implements RuleCheck {
  /** The longest a data-port connect may take before it counts as timed out. */
  static final Duration TIMEOUT = Duration.ofSeconds(1);

  private DataPortCheck() {}

  /** The check; stateless, it reads the results {@link #connect} put in {@link Findings}. */
  static final DataPortCheck INSTANCE = new DataPortCheck();

  /** Connects to every data port of the view; returns the results by {@link Findings#key}. */
  static Map<String, ProbeResult> connect(
      BalancerView view, HealthChecker checker, InstantSource clock) {
    Map<String, CompletableFuture<ProbeResult>> pending = new LinkedHashMap<>();
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
        pending.put(Findings.key(r.name(), s.id()), f);
      }
    }
    Map<String, ProbeResult> out = new HashMap<>();
    long deadline = System.nanoTime() + TIMEOUT.plusSeconds(1).toNanos();
    for (Map.Entry<String, CompletableFuture<ProbeResult>> e : pending.entrySet()) {
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
    return out;
  }

  /** Whether the backend's probe connects to another port than its data port. */
  static boolean separateProbePort(BackendView s) {
    return s.probeAddress() != null && s.probeAddress().getPort() != s.target().getPort();
  }

  /** Whether the backend's last probe timed out: its probe port is silent. */
  static boolean probeSilent(BackendView s) {
    return s.last() != null && s.last().outcome() == ProbeOutcome.TIMEOUT;
  }

  @Override
  public void run(BalancerView view, RuleView r, Findings out) {
    List<BackendView> checked = new ArrayList<>();
    for (BackendView s : r.members()) {
      if (out.dataPort(r, s) != null) {
        checked.add(s);
      }
    }
    if (checked.isEmpty()) {
      return;
    }
    out.ran(checked.size());
    List<BackendView> failed = new ArrayList<>();
    for (BackendView s : checked) {
      if (!out.dataPort(r, s).isSuccess()) {
        failed.add(s);
      }
    }
    boolean allDown =
        r.members().stream()
            .filter(BackendView::serving)
            .noneMatch(s -> s.health() == HealthState.HEALTHY);
    if (failed.size() == checked.size() && allDown && r.probe() != null) {
      return; // every backend is down: ALL_BACKENDS_UNHEALTHY says so, with these as evidence
    }
    if (failed.size() == checked.size() && closedEverywhere(r, checked, out)) {
      return;
    }
    HealthProbe probe = r.probe();
    for (BackendView s : failed) {
      ProbeResult result = out.dataPort(r, s);
      String where = hostPort(s.target().getAddress(), s.target().getPort());
      boolean refused = result.outcome() == ProbeOutcome.REFUSED;
      String state =
          refused
              ? " refuses (nothing listens there)"
              : " does not answer (filtered by a firewall or ACL, or its accept queue is full)";
      String fix =
          refused
              ? "start the service on port " + s.target().getPort()
              : "allow the balancer's connections to port "
                  + s.target().getPort()
                  + " through the backend's firewall, ACL or security group, or look at the"
                  + " service's accept queue (an overloaded service stops accepting)";
      if (probe != null && separateProbePort(s) && s.last() != null && s.last().isSuccess()) {
        out.add(
            Severity.CRITICAL,
            Check.DATA_PORT_REFUSED,
            r.name(),
            s.id(),
            "backend "
                + s.id()
                + " is healthy by its probe on port "
                + s.probeAddress().getPort()
                + ", but data port "
                + s.target().getPort()
                + state
                + ": flows sent to it fail",
            List.of(
                "data port " + where + ": " + result,
                "last probe on port " + s.probeAddress().getPort() + ": " + s.last()),
            fix
                + (refused
                    ? ", or probe the data port itself (probe port 0) so the probe sees what"
                        + " clients see"
                    : ""));
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
                + state
                + ": new flows keep going to it and fail",
            List.of("data port " + where + ": " + result),
            fix
                + "; and give rule "
                + r.name()
                + " a health probe so a failing backend leaves the rotation");
      }
      // otherwise the probe fails too: ProbeFailingCheck reports the backend (or its host)
    }
  }

  /**
   * Reports {@code BACKEND_PORT_CLOSED_EVERYWHERE} when every checked backend refuses on the one
   * port they share while at least one host is alive (its probe passes on another port, or the rule
   * has no probe); returns whether it did.
   */
  private static boolean closedEverywhere(RuleView r, List<BackendView> checked, Findings out) {
    int port = checked.get(0).target().getPort();
    for (BackendView s : checked) {
      if (s.target().getPort() != port || out.dataPort(r, s).outcome() != ProbeOutcome.REFUSED) {
        return false; // per-backend ports, or silence: no one port to blame
      }
    }
    HealthProbe probe = r.probe();
    List<String> alive = new ArrayList<>();
    for (BackendView s : checked) {
      if (separateProbePort(s) && s.last() != null && s.last().isSuccess()) {
        alive.add(s.id());
      }
    }
    if (probe != null && alive.isEmpty()) {
      return false;
    }
    List<String> evidence = new ArrayList<>();
    for (BackendView s : checked) {
      evidence.add(
          s.id()
              + " "
              + hostPort(s.target().getAddress(), s.target().getPort())
              + ": "
              + out.dataPort(r, s));
    }
    String fix =
        "set the rule's backendPort to the port the service listens on, or start the service on"
            + " port "
            + port;
    if (!alive.isEmpty()) {
      evidence.add(
          "the probe's port "
              + checked.get(0).probeAddress().getPort()
              + " answers on "
              + String.join(", ", alive)
              + ": the hosts are up, the service listens elsewhere");
      fix =
          "check backendPort "
              + port
              + " of rule "
              + r.name()
              + ": is it a typo (for example 1443 for 1433)? The probe's port "
              + checked.get(0).probeAddress().getPort()
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
            + port
            + " refuses connections on all of its "
            + checked.size()
            + (checked.size() == 1 ? " backend" : " backends")
            + "; every flow it forwards fails",
        evidence,
        fix);
    return true;
  }
}
