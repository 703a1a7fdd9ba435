package io.lb4j.core.diagnose;

import static io.lb4j.core.diagnose.Texts.count;
import static io.lb4j.core.diagnose.Texts.human;

import io.lb4j.AdminState;
import io.lb4j.Finding.Check;
import io.lb4j.Finding.Severity;
import io.lb4j.HealthState;
import java.util.ArrayList;
import java.util.List;

/**
 * Checkpoint 5: flows on a backend that left rotation (removed, draining, disabled, unhealthy) —
 * how many, and until when they last.
 */
final class OutOfRotationCheck implements RuleCheck {

  @Override
  public void run(BalancerView view, RuleView r, Findings out) {
    for (BackendView s : r.backends()) {
      out.ran(1);
      if (s.active() == 0) {
        continue;
      }
      String state;
      Severity severity = Severity.WARNING;
      if (!s.member()) {
        state = "was removed from the pool";
      } else if (s.backend().adminState() == AdminState.DRAINING) {
        state = "is DRAINING";
        severity = Severity.INFO;
      } else if (s.backend().adminState() == AdminState.DISABLED) {
        state = "is DISABLED";
      } else if (s.health() == HealthState.UNHEALTHY && !s.inRotation()) {
        state = "is UNHEALTHY (" + s.cause() + ")";
      } else {
        continue;
      }
      String until;
      if (s.drainDeadline() != null) {
        until =
            "until "
                + s.drainDeadline()
                + ", when the rule's CLOSE_AFTER_DRAIN_TIMEOUT policy closes them";
      } else if (s.member() && s.backend().adminState() == AdminState.DISABLED) {
        until = "until their next packet, which moves them to another backend";
      } else {
        until =
            "until they close, or until each has been idle for the rule's idle timeout ("
                + human(r.rule().idleTimeout())
                + "); established flows are kept";
      }
      List<String> evidence = new ArrayList<>();
      evidence.add(count(s.active(), "established flow") + ", " + until);
      for (int i = 0; i < Math.min(3, s.sampleFlows().size()); i++) {
        evidence.add("flow " + s.sampleFlows().get(i));
      }
      out.add(
          severity,
          Check.FLOWS_ON_OUT_OF_ROTATION_BACKEND,
          r.name(),
          s.id(),
          "backend " + s.id() + " " + state + " but still carries " + count(s.active(), "flow"),
          evidence,
          fix(s, severity));
    }
  }

  private static String fix(BackendView s, Severity severity) {
    if (s.drainDeadline() != null) {
      return "nothing to do: the rule's CLOSE_AFTER_DRAIN_TIMEOUT policy ends them at "
          + s.drainDeadline()
          + (s.member() ? "; to end them now, set the backend DISABLED" : "");
    }
    if (severity == Severity.INFO) {
      return "wait for the flows to end before taking the backend down; to cut them, set it"
          + " DISABLED";
    }
    return "nothing to do if they may finish; to end them sooner, set the rule's"
        + " unhealthyFlowPolicy to CLOSE_AFTER_DRAIN_TIMEOUT (it covers unhealthy and removed"
        + " backends), or close them at the backend";
  }
}
