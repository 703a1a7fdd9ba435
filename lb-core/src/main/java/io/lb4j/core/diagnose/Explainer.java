package io.lb4j.core.diagnose;

import static io.lb4j.core.diagnose.Texts.hostPort;
import static io.lb4j.core.diagnose.Texts.listen;

import io.lb4j.DistributionMode;
import io.lb4j.FlowExplanation;
import io.lb4j.FlowExplanation.Candidate;
import io.lb4j.FlowKey;
import io.lb4j.HealthState;
import io.lb4j.InboundNatRule;
import io.lb4j.IpLiteral;
import io.lb4j.KeyExplanation;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancingRule;
import io.lb4j.Rule;
import io.lb4j.Selection;
import io.lb4j.SelectionAlgorithm;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes {@link FlowExplanation}s: which rule matched (or why none did), the fields hashed, every
 * candidate with the reason it is left out, and the answer. Reads a {@link BalancerView} and the
 * facts of the one selection the balancer computed for the flow.
 *
 * <p>Internal to lb4j: the balancer's {@code explain(flow)} is the API.
 *
 * <p>Thread-safe.
 */
public final class Explainer {
  private Explainer() {}

  /**
   * Explains a flow that no rule takes.
   *
   * @param config the configuration in force
   * @param flow the flow asked about
   * @param none the balancer's {@link Selection.Status#NO_RULE} answer for the flow
   * @return the explanation, listing where the rules listen
   */
  public static FlowExplanation noRule(LoadBalancerConfig config, FlowKey flow, Selection none) {
    return new FlowExplanation(
        flow,
        null,
        noRuleReason(config, flow),
        null,
        List.of(),
        0,
        null,
        List.of(),
        none,
        false,
        none);
  }

  /**
   * Explains a flow that rule {@code rule} of the view takes.
   *
   * @param view the balancer's state
   * @param flow the flow asked about
   * @param rule the view of the rule that takes it
   * @param hash the flow's hash under the rule's distribution mode (0 for a NAT rule)
   * @param fresh the answer a new flow gets now
   * @param pinned the answer the flow table holds for the flow, or null
   * @param fingerprint the rule's selection fingerprint, to compare across instances
   * @return the explanation
   */
  public static FlowExplanation explain(
      BalancerView view,
      FlowKey flow,
      RuleView rule,
      long hash,
      Selection fresh,
      Selection pinned,
      String fingerprint) {
    Rule r = rule.rule();
    DistributionMode mode =
        r instanceof LoadBalancingRule ? ((LoadBalancingRule) r).distributionMode() : null;
    List<Candidate> candidates = candidates(rule);
    boolean fromTable = pinned != null;
    return new FlowExplanation(
        flow,
        r.name(),
        describe(view.config(), r) + "; selection fingerprint " + fingerprint,
        mode,
        mode == null ? List.of() : hashedFields(flow, mode),
        mode == null ? 0 : hash,
        algorithm(r),
        candidates,
        fromTable ? pinned : fresh,
        fromTable,
        fresh);
  }

  /**
   * Explains where an application key goes in rule {@code rule} of the view.
   *
   * @param view the balancer's state
   * @param rule the view of the rule
   * @param keyText the key as written
   * @param hash the key's hash
   * @param fresh the answer the key gets now
   * @param fingerprint the rule's selection fingerprint
   * @return the explanation
   */
  public static KeyExplanation explainKey(
      BalancerView view,
      RuleView rule,
      String keyText,
      long hash,
      Selection fresh,
      String fingerprint) {
    Rule r = rule.rule();
    return new KeyExplanation(
        r.name(),
        describe(view.config(), r) + "; selection fingerprint " + fingerprint,
        keyText,
        hash,
        algorithm(r),
        candidates(rule),
        fresh);
  }

  private static SelectionAlgorithm algorithm(Rule r) {
    return r instanceof LoadBalancingRule ? ((LoadBalancingRule) r).selection().algorithm() : null;
  }

  private static String describe(LoadBalancerConfig config, Rule r) {
    if (r instanceof LoadBalancingRule) {
      LoadBalancingRule lr = (LoadBalancingRule) r;
      return "load-balancing rule on "
          + listen(config, lr.frontend(), lr.frontendPort(), lr.protocol())
          + ", pool '"
          + lr.backendPool()
          + "', backend port "
          + lr.backendPort();
    }
    InboundNatRule nr = (InboundNatRule) r;
    return "inbound NAT rule on "
        + listen(config, nr.frontend(), nr.frontendPort(), nr.protocol())
        + " to backend '"
        + nr.backend()
        + "' port "
        + nr.backendPort()
        + "; nothing is hashed";
  }

  /** Returns every backend of the rule with its state: members, and departed ones with flows. */
  private static List<Candidate> candidates(RuleView rule) {
    Rule r = rule.rule();
    List<Candidate> candidates = new ArrayList<>();
    for (BackendView s : rule.backends()) {
      if (!s.member() && s.active() == 0) {
        continue;
      }
      String detail = s.exclusionDetail();
      if (s.exclusion() == null
          && r instanceof LoadBalancingRule
          && s.health() != HealthState.HEALTHY) {
        detail =
            s.health()
                + ", but in rotation: the rule's "
                + ((LoadBalancingRule) r).noHealthyBackendPolicy()
                + " policy spreads new flows over unhealthy backends ("
                + s.cause()
                + ")";
      }
      InetSocketAddress t = s.target();
      candidates.add(
          new Candidate(
              s.id(),
              hostPort(t.getAddress(), t.getPort()),
              s.backend().weight(),
              s.health(),
              s.active(),
              s.exclusion(),
              detail));
    }
    return candidates;
  }

  private static List<String> hashedFields(FlowKey flow, DistributionMode mode) {
    List<String> out = new ArrayList<>();
    out.add("source " + IpLiteral.format(flow.sourceAddress()));
    if (mode == DistributionMode.FIVE_TUPLE) {
      out.add("source port " + flow.sourcePort());
    }
    out.add("destination " + IpLiteral.format(flow.destinationAddress()));
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
    for (Rule r : config.rules()) {
      InetAddress address = config.frontend(r.frontend()).address();
      boolean addressMatches =
          address.isAnyLocalAddress() || address.equals(flow.destinationAddress());
      boolean portMatches = r.frontendPort() == flow.destinationPort();
      boolean protocolMatches = r.protocol() == flow.protocol();
      rules.add(r.name() + " on " + listen(config, r.frontend(), r.frontendPort(), r.protocol()));
      if (portMatches && protocolMatches && !addressMatches) {
        close.add(
            r.name()
                + " listens on port "
                + r.frontendPort()
                + " but on frontend address "
                + IpLiteral.format(address));
      } else if (portMatches && addressMatches && !protocolMatches) {
        close.add(r.name() + " listens on port " + r.frontendPort() + " but for " + r.protocol());
      } else if (addressMatches
          && protocolMatches
          && Math.abs(r.frontendPort() - flow.destinationPort()) < 10) {
        close.add(
            r.name() + " listens on port " + r.frontendPort() + ", not " + flow.destinationPort());
      }
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
}
