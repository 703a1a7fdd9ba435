package io.lb4j.core;

import io.lb4j.FlowKey;

/**
 * The immutable state the data plane reads: every rule. Published with one volatile write, never
 * changed after.
 */
final class Snapshot {
  final RuleState[] rules;

  Snapshot(RuleState[] rules) {
    this.rules = rules;
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
