package io.lb4j;

import java.util.List;

/**
 * Where a flow goes and why: the rule that matched (or why none did), the fields hashed, the
 * algorithm and its candidates, the answer, whether it came from the flow table, and every backend
 * left out with its reason. Returned by {@link LoadBalancer#explain}, which records nothing.
 *
 * <p>{@link #toString()} is the readable form:
 *
 * <pre>
 * TCP 127.0.0.9:40000 -> 127.0.0.1:80
 *   rule http (load-balancing rule on 127.0.0.1:80/TCP)
 *   hashed FIVE_TUPLE: source 127.0.0.9, source port 40000, destination 127.0.0.1, ...
 *   algorithm MAGLEV over 2 of 3 backends
 *   answer web-2 127.0.0.3:8080 (fresh pick: the flow is not in the flow table)
 *   left out: web-1 UNHEALTHY (probe: 2 failures in a row, last REFUSED ...)
 * </pre>
 *
 * <p>A flow the frontend refuses ({@link #refusedByFrontend(FlowKey, String, String, Selection)})
 * reads {@code refused: 127.0.0.70 matches deny 127.0.0.64/26 of frontend partner} first.
 *
 * <p>Instances are immutable and thread-safe.
 *
 * @param flow the flow asked about
 * @param rule the rule that matched, or null when none did
 * @param ruleDescription what the rule is and where it listens, or why no rule matched
 * @param mode the distribution mode, or null when no rule matched
 * @param hashedFields the fields the mode hashes, with the flow's values, in hashing order
 * @param hash the flow hash the selector was given (0 when no rule matched)
 * @param algorithm the selection algorithm, or null for an inbound NAT rule or no rule
 * @param candidates every backend of the rule's pool with its state
 * @param selection the answer {@link LoadBalancer#select} would give now
 * @param fromFlowTable whether the answer is the flow's recorded backend (an existing flow)
 * @param freshPick what a new flow with this 5-tuple would get now; differs from {@code selection}
 *     when the flow table pins the flow elsewhere
 */
public record FlowExplanation(
    FlowKey flow,
    String rule,
    String ruleDescription,
    DistributionMode mode,
    List<String> hashedFields,
    long hash,
    SelectionAlgorithm algorithm,
    List<Candidate> candidates,
    Selection selection,
    boolean fromFlowTable,
    Selection freshPick) {

  /** Why a backend takes no new flows. */
  public enum Exclusion {
    /** Its probe (or health override {@code FORCE_DOWN}) marks it unhealthy. */
    UNHEALTHY,
    /** Its first probe has not answered and the rule waits for it. */
    NOT_PROBED_YET,
    /** Passive health ejected it after connect failures. */
    EJECTED,
    /** Its admin state is {@code DRAINING}: established flows continue, no new ones. */
    DRAINING,
    /** Its admin state is {@code DISABLED}: no flows at all. */
    DISABLED,
    /** Its weight is 0. */
    WEIGHT_ZERO,
    /** Bounded load: it already holds its share of flows times the load factor. */
    FULL,
    /** It was removed from the pool; it appears only while flows remain on it. */
    REMOVED
  }

  /**
   * One backend as the rule sees it.
   *
   * @param backendId the backend's id
   * @param target the address and port flows are sent to
   * @param weight the configured weight
   * @param health the effective health
   * @param activeFlows flows pinned to it now
   * @param exclusion why it takes no new flows, or null when it is a candidate
   * @param detail the evidence for the exclusion (the last probe failure, the ejection, the bound),
   *     or an empty string
   */
  public record Candidate(
      String backendId,
      String target,
      int weight,
      HealthState health,
      int activeFlows,
      Exclusion exclusion,
      String detail) {
    /**
     * Validates the fields.
     *
     * @param backendId the backend's id
     * @param target the address and port flows are sent to
     * @param weight the configured weight
     * @param health the effective health
     * @param activeFlows flows pinned to it now
     * @param exclusion why it takes no new flows, or null when it is a candidate
     * @param detail the evidence for the exclusion (the last probe failure, the ejection, the
     *     bound), or an empty string
     */
    public Candidate {
      Checks.notNull(backendId, "backendId");
      Checks.notNull(target, "target");
      Checks.notNull(health, "health");
      Checks.notNull(detail, "detail");
    }

    /** {@return whether the backend can take new flows} */
    public boolean eligible() {
      return exclusion == null;
    }
  }

  /**
   * Validates the fields and copies the lists.
   *
   * @param flow the flow asked about
   * @param rule the rule that matched, or null when none did
   * @param ruleDescription what the rule is and where it listens, or why no rule matched
   * @param mode the distribution mode, or null when no rule matched
   * @param hashedFields the fields the mode hashes, with the flow's values, in hashing order
   * @param hash the flow hash the selector was given (0 when no rule matched)
   * @param algorithm the selection algorithm, or null for an inbound NAT rule or no rule
   * @param candidates every backend of the rule's pool with its state
   * @param selection the answer {@link LoadBalancer#select} would give now
   * @param fromFlowTable whether the answer is the flow's recorded backend (an existing flow)
   * @param freshPick what a new flow with this 5-tuple would get now; differs from {@code
   *     selection} when the flow table pins the flow elsewhere
   */
  public FlowExplanation {
    Checks.notNull(flow, "flow");
    Checks.notNull(ruleDescription, "ruleDescription");
    Checks.notNull(selection, "selection");
    Checks.notNull(freshPick, "freshPick");
    hashedFields = List.copyOf(hashedFields);
    candidates = List.copyOf(candidates);
  }

  /**
   * Returns the answer that the frontend refuses {@code flow} before any backend is chosen: a
   * proxy's deny or allow list, or its connection limit. {@code refusal} is a {@link
   * Selection.Status#REFUSED_BY_FRONTEND} answer whose detail says why ({@code refused: 127.0.0.70
   * matches deny 127.0.0.64/26 of frontend partner}); nothing is hashed and no backend is a
   * candidate, and {@link #toString()} starts with that detail.
   *
   * @param flow the flow asked about
   * @param rule the rule whose frontend refuses it, or null when the refusal comes before any rule
   * @param ruleDescription what the rule is and where it listens
   * @param refusal the frontend's answer
   * @return the explanation: no hashed fields, no candidates, {@code refusal} as both the answer
   *     and the fresh pick
   * @throws IllegalArgumentException if {@code refusal} is not a {@code REFUSED_BY_FRONTEND} answer
   */
  public static FlowExplanation refusedByFrontend(
      FlowKey flow, String rule, String ruleDescription, Selection refusal) {
    Checks.notNull(refusal, "refusal");
    if (refusal.status() != Selection.Status.REFUSED_BY_FRONTEND) {
      throw new IllegalArgumentException(
          "refusal: " + refusal.status() + " (expected: REFUSED_BY_FRONTEND)");
    }
    return new FlowExplanation(
        flow, rule, ruleDescription, null, List.of(), 0, null, List.of(), refusal, false, refusal);
  }

  /** {@return whether the frontend refuses the flow before any backend is chosen} */
  public boolean refusedByFrontend() {
    return selection.status() == Selection.Status.REFUSED_BY_FRONTEND;
  }

  /** {@return the backends left out, with their reasons} */
  public List<Candidate> excluded() {
    return candidates.stream().filter(c -> !c.eligible()).toList();
  }

  @Override
  public String toString() {
    if (refusedByFrontend()) {
      StringBuilder sb = new StringBuilder().append(selection.detail()).append('\n');
      sb.append("  ").append(flow).append('\n');
      if (rule != null) {
        sb.append("  rule ").append(rule).append(" (").append(ruleDescription).append(")\n");
      }
      return sb.append("  no backend is asked: the frontend closes the connection first\n")
          .toString();
    }
    StringBuilder sb = new StringBuilder().append(flow).append('\n');
    if (rule == null) {
      return sb.append("  no rule: ").append(ruleDescription).append('\n').toString();
    }
    sb.append("  rule ").append(rule).append(" (").append(ruleDescription).append(")\n");
    if (mode == null) {
      sb.append("  nothing hashed: an inbound NAT rule has one backend\n");
    } else {
      sb.append("  hashed ").append(mode).append(": ").append(String.join(", ", hashedFields));
      sb.append(String.format(" -> %016x", hash)).append('\n');
    }
    appendAlgorithm(sb, algorithm, candidates);
    sb.append("  answer ").append(answer(selection));
    if (fromFlowTable) {
      sb.append(" (existing flow, from the flow table");
      if (!freshPick.equals(selection)) {
        sb.append("; a new flow would get ").append(answer(freshPick));
      }
      sb.append(")\n");
    } else {
      sb.append(" (fresh pick: the flow is not in the flow table)\n");
    }
    appendLeftOut(sb, candidates);
    return sb.toString();
  }

  /** Appends the algorithm line: {@code algorithm MAGLEV over 2 of 3 backends}. */
  static void appendAlgorithm(
      StringBuilder sb, SelectionAlgorithm algorithm, List<Candidate> candidates) {
    long eligible = candidates.stream().filter(Candidate::eligible).count();
    sb.append("  algorithm ")
        .append(algorithm == null ? "NAT (one backend)" : algorithm.toString())
        .append(" over ")
        .append(eligible)
        .append(" of ")
        .append(candidates.size())
        .append(candidates.size() == 1 ? " backend\n" : " backends\n");
  }

  /** Appends a {@code left out:} line per backend left out, with its reason. */
  static void appendLeftOut(StringBuilder sb, List<Candidate> candidates) {
    for (Candidate c : candidates) {
      if (!c.eligible()) {
        sb.append("  left out: ").append(c.backendId()).append(' ').append(c.exclusion());
        if (!c.detail().isEmpty()) {
          sb.append(" (").append(c.detail()).append(')');
        }
        sb.append('\n');
      }
    }
  }

  private static String answer(Selection s) {
    return s.isSelected()
        ? s.backend().id() + " " + s.detail().substring(s.detail().lastIndexOf(' ') + 1)
        : s.status() + ": " + s.detail();
  }
}
