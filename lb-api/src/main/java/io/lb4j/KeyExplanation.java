package io.lb4j;

import io.lb4j.FlowExplanation.Candidate;
import java.util.List;

/**
 * Where an application key goes in a rule and why: the key and its hash, the algorithm and its
 * candidates, every backend left out with its reason, and the answer. Returned by {@link
 * LoadBalancer#explainKey}, which records nothing.
 *
 * <p>{@link #toString()} is the readable form:
 *
 * <pre>
 * key "user-42" in rule shards
 *   hash 5d2f0c9e8a7b6c1d (XXH64 of the key's UTF-8 bytes, balancer seed)
 *   algorithm MAGLEV over 2 of 3 backends
 *   answer db-2 127.0.0.3:5432 (2 leases held on it)
 *   left out: db-1 UNHEALTHY (probe: 2 failures in a row, last REFUSED ...)
 * </pre>
 *
 * <p>Instances are immutable and thread-safe.
 *
 * @param rule the rule asked about
 * @param ruleDescription what the rule is, or why it is not defined
 * @param key the key as written: a number, a quoted string, or bytes in hex
 * @param hash the key's hash, as the selector is given it
 * @param algorithm the rule's selection algorithm, or null for an inbound NAT rule or no rule
 * @param candidates every backend of the rule's pool with its state and flows plus leases held
 * @param selection the answer {@link LoadBalancer#pickByKey} gives now
 */
public record KeyExplanation(
    String rule,
    String ruleDescription,
    String key,
    long hash,
    SelectionAlgorithm algorithm,
    List<Candidate> candidates,
    Selection selection) {

  /**
   * Validates the fields and copies the list.
   *
   * @param rule the rule asked about
   * @param ruleDescription what the rule is, or why it is not defined
   * @param key the key as written: a number, a quoted string, or bytes in hex
   * @param hash the key's hash, as the selector is given it
   * @param algorithm the rule's selection algorithm, or null for an inbound NAT rule or no rule
   * @param candidates every backend of the rule's pool with its state and flows plus leases held
   * @param selection the answer {@link LoadBalancer#pickByKey} gives now
   */
  public KeyExplanation {
    Checks.notNull(rule, "rule");
    Checks.notNull(ruleDescription, "ruleDescription");
    Checks.notNull(key, "key");
    Checks.notNull(selection, "selection");
    candidates = List.copyOf(candidates);
  }

  /** {@return the backends left out, with their reasons} */
  public List<Candidate> excluded() {
    return candidates.stream().filter(c -> !c.eligible()).toList();
  }

  /**
   * Returns {@code bytes} in lower-case hex, at most 64 bytes of it, as {@code 0x0a0b...}.
   *
   * @param bytes the bytes, not null; only the first 64 are printed, followed by the total length
   * @return the hex text, such as {@code 0x0a0b}
   */
  public static String hex(byte[] bytes) {
    Checks.notNull(bytes, "key");
    StringBuilder sb = new StringBuilder("0x");
    int n = Math.min(bytes.length, 64);
    for (int i = 0; i < n; i++) {
      sb.append(Character.forDigit((bytes[i] >> 4) & 0xF, 16));
      sb.append(Character.forDigit(bytes[i] & 0xF, 16));
    }
    if (n < bytes.length) {
      sb.append("... (").append(bytes.length).append(" bytes)");
    }
    return sb.toString();
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder("key ").append(key).append(" in rule ").append(rule);
    if (algorithm == null && candidates.isEmpty()) {
      return sb.append("\n  ").append(ruleDescription).append('\n').toString();
    }
    sb.append(" (").append(ruleDescription).append(")\n");
    sb.append(String.format("  hash %016x", hash)).append('\n');
    FlowExplanation.appendAlgorithm(sb, algorithm, candidates);
    sb.append("  answer ");
    if (selection.isSelected()) {
      sb.append(selection.backend().id()).append(' ').append(IpLiteral.format(selection.target()));
      for (Candidate c : candidates) {
        if (c.backendId().equals(selection.backend().id())) {
          sb.append(" (").append(c.activeFlows()).append(" flows and leases held on it)");
        }
      }
    } else {
      sb.append(selection.status()).append(": ").append(selection.detail());
    }
    sb.append('\n');
    FlowExplanation.appendLeftOut(sb, candidates);
    return sb.toString();
  }
}
