package io.lb4j.core.diagnose;

import static io.lb4j.core.diagnose.Texts.count;

import io.lb4j.Finding.Check;
import io.lb4j.Finding.Severity;
import io.lb4j.FlowKey;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Checkpoint 6: backends of a rule's pool reach the service through the balancer (hairpin). */
final class HairpinCheck implements RuleCheck {

  @Override
  public void run(BalancerView view, RuleView r, Findings out) {
    out.ran(1);
    Map<InetAddress, String> backendAt = new HashMap<>();
    for (BackendView s : r.backends()) {
      backendAt.put(s.backend().address(), s.id());
    }
    List<String> evidence = new ArrayList<>();
    int all = 0;
    int self = 0;
    for (BackendView s : r.backends()) {
      for (FlowKey flow : s.flowsFromPool()) {
        String from = backendAt.get(flow.sourceAddress());
        if (from == null) {
          continue;
        }
        all++;
        if (from.equals(s.id())) {
          self++;
        }
        if (evidence.size() < 5) {
          evidence.add(
              "flow "
                  + flow
                  + " from backend "
                  + from
                  + " went to "
                  + s.id()
                  + (from.equals(s.id()) ? " (itself)" : ""));
        }
      }
    }
    if (all == 0) {
      return;
    }
    evidence.add(
        0,
        count(all, "live flow")
            + " from backends of the pool, "
            + self
            + " sent back to the backend that opened it");
    out.add(
        Severity.WARNING,
        Check.HAIRPIN,
        r.name(),
        null,
        "backends of rule "
            + r.name()
            + "'s pool reach the service through the balancer (hairpin): a flow may come back"
            + " to the backend that opened it",
        evidence,
        "call the service locally or through another frontend; cloud balancers (Azure Load"
            + " Balancer, AWS NLB with client IP preservation) drop or break such flows, lb4j's"
            + " proxy carries them but counts them");
  }
}
