package io.lb4j.core.diagnose;

import static io.lb4j.core.diagnose.Texts.hostPort;
import static io.lb4j.core.diagnose.Texts.human;

import io.lb4j.AdminState;
import io.lb4j.Finding.Check;
import io.lb4j.Finding.Severity;
import io.lb4j.HealthProbe;
import io.lb4j.HealthState;
import io.lb4j.ProbeOutcome;
import io.lb4j.ProbeProtocol;
import io.lb4j.ProbeResult;
import java.util.ArrayList;
import java.util.List;

/** Checkpoint 1: a backend fails its probe — what the failure means and how to fix it. */
final class ProbeFailingCheck implements RuleCheck {

  @Override
  public void run(BalancerView view, RuleView r, Findings out) {
    HealthProbe probe = r.probe();
    if (probe == null) {
      return;
    }
    for (BackendView s : r.members()) {
      out.ran(1);
      ProbeResult last = s.last();
      if (last == null || last.isSuccess() || s.backend().adminState() == AdminState.DISABLED) {
        continue;
      }
      boolean down = s.health() == HealthState.UNHEALTHY;
      String where = hostPort(s.probeAddress().getAddress(), s.probeAddress().getPort());
      List<String> evidence = new ArrayList<>();
      evidence.add(
          "probe '"
              + probe.name()
              + "' ("
              + probe.protocol()
              + " "
              + where
              + (probe.protocol() == ProbeProtocol.TCP ? "" : " " + probe.path())
              + ", every "
              + human(probe.interval())
              + ", timeout "
              + human(probe.timeout())
              + ", unhealthy after "
              + probe.unhealthyThreshold()
              + ")");
      evidence.add(
          s.consecutiveFailures()
              + " failures in a row; backend is "
              + s.health()
              + " for the rule");
      List<ProbeResult> results = s.results();
      for (int i = Math.max(0, results.size() - 5); i < results.size(); i++) {
        evidence.add("probe result: " + results.get(i));
      }
      out.add(
          down ? Severity.CRITICAL : Severity.WARNING,
          Check.PROBE_FAILING,
          r.name(),
          s.id(),
          "backend "
              + s.id()
              + " fails its probe on "
              + where
              + ": "
              + meaning(last.outcome(), s.probeAddress().getPort())
              + (down ? "" : " (not unhealthy yet)"),
          evidence,
          fix(last.outcome(), s.probeAddress().getPort(), probe));
    }
  }

  static String meaning(ProbeOutcome outcome, int port) {
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

  static String fix(ProbeOutcome outcome, int port, HealthProbe probe) {
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
}
