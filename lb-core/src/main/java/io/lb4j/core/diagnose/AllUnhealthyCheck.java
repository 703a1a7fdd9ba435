package io.lb4j.core.diagnose;

import io.lb4j.Finding.Check;
import io.lb4j.Finding.Severity;
import io.lb4j.HealthState;
import io.lb4j.LoadBalancingRule;
import io.lb4j.ProbeOutcome;
import io.lb4j.ProbeResult;
import java.util.ArrayList;
import java.util.List;

/** Checkpoint 7: no backend of a rule is healthy — and what the rule's policy does about it. */
final class AllUnhealthyCheck implements RuleCheck {

  @Override
  public void run(BalancerView view, RuleView r, Findings out) {
    LoadBalancingRule lb = r.lb();
    if (lb == null) {
      return;
    }
    out.ran(1);
    List<BackendView> serving = r.members().stream().filter(BackendView::serving).toList();
    if (serving.isEmpty() || serving.stream().anyMatch(s -> s.health() == HealthState.HEALTHY)) {
      return;
    }
    List<String> evidence = new ArrayList<>();
    for (BackendView s : serving) {
      evidence.add(s.id() + " " + s.health() + ": " + s.cause());
    }
    String policy;
    switch (lb.noHealthyBackendPolicy()) {
      case FAIL_OPEN:
        policy = "FAIL_OPEN is in force: new flows are spread over all of them anyway";
        break;
      case PANIC:
        policy =
            "PANIC is in force: with under "
                + lb.panicThresholdPercent()
                + "% healthy, new flows are spread over all of them anyway";
        break;
      default:
        policy = "FAIL_CLOSED is in force: new flows are refused";
    }
    evidence.add(policy);
    int refused = 0;
    int silent = 0;
    int checked = 0;
    for (BackendView s : serving) {
      ProbeResult data = out.dataPort(r, s);
      if (data == null) {
        continue;
      }
      checked++;
      refused += data.outcome() == ProbeOutcome.REFUSED ? 1 : 0;
      silent += data.outcome() == ProbeOutcome.TIMEOUT ? 1 : 0;
      evidence.add(
          "lb4j's own connect to "
              + s.id()
              + "'s data port "
              + Texts.hostPort(s.target().getAddress(), s.target().getPort())
              + ": "
              + data);
    }
    String cause = "";
    String fix =
        "fix the probe findings of the backends; if the probe itself is wrong (port, path),"
            + " fix the probe";
    if (checked > 0 && silent == checked) {
      cause = " (every data port is silent too: the hosts are down or unreachable, not a port)";
      fix =
          "bring the hosts back or restore the network path to them (route, NAT, firewall for"
              + " the balancer's address); the rule's ports are not the cause";
    } else if (checked > 0 && refused == checked) {
      cause = " (every data port refuses too: the services are down on every host)";
      fix =
          "start the services again (a deploy or a crash that took all of them?); the hosts"
              + " answer, so the network is fine";
    }
    out.add(
        Severity.CRITICAL,
        Check.ALL_BACKENDS_UNHEALTHY,
        r.name(),
        null,
        "no backend of rule " + r.name() + " is healthy; " + policy + cause,
        evidence,
        fix);
  }
}
