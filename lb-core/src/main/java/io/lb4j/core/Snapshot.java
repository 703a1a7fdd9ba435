package io.lb4j.core;

import io.lb4j.FlowKey;

/**
 * The immutable state the data plane reads: every rule. Published with one volatile write, never
 * changed after.
 */
final class Snapshot {
  final RuleState[] rules;
  private final java.util.Map<String, RuleState> byName = new java.util.HashMap<>();

  Snapshot(RuleState[] rules) {
    this.rules = rules;
    for (RuleState r : rules) {
      byName.put(r.name, r);
    }
  }

  /** Returns the rules' names, in configuration order. */
  java.util.List<String> names() {
    java.util.List<String> out = new java.util.ArrayList<>(rules.length);
    for (RuleState r : rules) {
      out.add(r.name);
    }
    return out;
  }

  /**
   * Returns the rule named {@code name}, or null. A caller passing the same {@code String} the rule
   * was configured with, or a constant equal to it, is answered by a reference comparison over the
   * few rules; others by the map.
   */
  RuleState rule(String name) {
    for (RuleState r : rules) {
      if (r.name == name) { // identity first: the common case of a constant, no hashing
        return r;
      }
    }
    return byName.get(name);
  }

  /**
   * Returns the rule for the flow's destination: the one on exactly its address, else one on a
   * wildcard frontend, else null. A linear scan: configurations hold few rules.
   */
  RuleState find(FlowKey flow) {
    RuleState wildcard = null;
    for (RuleState r : rules) {
      if (r.matchesPort(flow)) {
        if (r.matchesAddress(flow)) {
          return r;
        }
        if (r.wildcard) {
          wildcard = r;
        }
      }
    }
    return wildcard;
  }
}
