package io.lb4j.core.diagnose;

import static io.lb4j.core.diagnose.Texts.hostPort;
import static io.lb4j.core.diagnose.Texts.human;

import io.lb4j.AdminState;
import io.lb4j.Finding.Check;
import io.lb4j.Finding.Severity;
import io.lb4j.HealthProbe;
import io.lb4j.HealthState;
import io.lb4j.IpLiteral;
import io.lb4j.ProbeOutcome;
import io.lb4j.ProbeProtocol;
import io.lb4j.ProbeResult;
import java.util.ArrayList;
import java.util.List;

/**
 * Checkpoint 1: a backend fails its probe — what the failure means and how to fix it, told apart
 * with lb4j's own connect to the data port: a probe port and a data port both silent on separate
 * ports is the host ({@code BACKEND_HOST_SILENT}), a silent probe port beside an answering data
 * port is the probe's packets being dropped, a silent shared port is the host or that port.
 */
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
      ProbeResult data = out.dataPort(r, s);
      boolean separate = DataPortCheck.separateProbePort(s);
      boolean silent = last.outcome() == ProbeOutcome.TIMEOUT;
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
      if (data != null) {
        evidence.add(
            "lb4j's own connect to the data port "
                + hostPort(s.target().getAddress(), s.target().getPort())
                + ": "
                + data);
      }
      Severity severity = down ? Severity.CRITICAL : Severity.WARNING;
      String notYet = down ? "" : " (not unhealthy yet)";
      if (silent && separate && data != null && data.outcome() == ProbeOutcome.TIMEOUT) {
        out.add(
            severity,
            Check.BACKEND_HOST_SILENT,
            r.name(),
            s.id(),
            "backend "
                + s.id()
                + " answers neither its probe port "
                + s.probeAddress().getPort()
                + " nor its data port "
                + s.target().getPort()
                + ": the host "
                + IpLiteral.format(s.target().getAddress())
                + " is silent, not one port"
                + notYet,
            evidence,
            "check that the host is up and reachable from the balancer: its route back (an"
                + " asymmetric route drops the replies), a SYN flood or full accept queue,"
                + " kernel settings that drop SYNs (tcp_tw_recycle behind NAT); a firewall rule"
                + " for one port does not explain both");
        continue;
      }
      String meaning = meaning(last.outcome(), s.probeAddress().getPort());
      String fix = fix(last.outcome(), s.probeAddress().getPort(), probe);
      if (silent && separate && data != null && data.isSuccess()) {
        meaning =
            "no answer on the probe port while the data port "
                + s.target().getPort()
                + " accepts: the probe's packets to port "
                + s.probeAddress().getPort()
                + " are dropped (firewall, ACL, security group)";
        fix =
            "allow the balancer's probes to port "
                + s.probeAddress().getPort()
                + " through the backend's firewall, ACL or security group, or probe the data"
                + " port itself (probe port 0)";
      } else if (silent && !separate && data != null && !data.isSuccess()) {
        meaning =
            "no answer on port "
                + s.probeAddress().getPort()
                + " to the probe or to lb4j's own connect: the host or that port is silent"
                + " (down, unreachable, filtered, or its accept queue is full)";
        fix =
            "check that the host is up and reachable from the balancer (route back, NAT), then"
                + " its firewall for port "
                + s.probeAddress().getPort()
                + " and the service's accept queue; raise the probe timeout ("
                + human(probe.timeout())
                + ") only if the service is just slow";
      }
      out.add(
          severity,
          Check.PROBE_FAILING,
          r.name(),
          s.id(),
          "backend " + s.id() + " fails its probe on " + where + ": " + meaning + notYet,
          evidence,
          fix);
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
