package io.lb4j.core.diagnose;

import io.lb4j.Finding.Check;
import io.lb4j.Finding.Severity;
import io.lb4j.HealthState;
import io.lb4j.LoadBalancingRule;
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
    out.add(
        Severity.CRITICAL,
        Check.ALL_BACKENDS_UNHEALTHY,
        r.name(),
        null,
        "no backend of rule " + r.name() + " is healthy; " + policy,
        evidence,
        "fix the probe findings of the backends; if the probe itself is wrong (port, path),"
            + " fix the probe");
  }
}
