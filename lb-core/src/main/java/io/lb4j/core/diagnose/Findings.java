package io.lb4j.core.diagnose;

import io.lb4j.Finding;
import io.lb4j.Finding.Check;
import io.lb4j.Finding.Severity;
import io.lb4j.ProbeResult;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What one diagnosis found and how many checks it ran, with the facts the checks share: the result
 * of lb4j's own connect to each backend's data port, so a check can tell a silent host from a
 * silent port. Not thread-safe: one per diagnosis.
 */
final class Findings {
  private final List<Finding> findings = new ArrayList<>();
  private final Map<String, ProbeResult> dataPorts;
  private int checks;

  Findings(Map<String, ProbeResult> dataPorts) {
    this.dataPorts = dataPorts;
  }

  /** Returns lb4j's connect to the backend's data port for the rule, or null if not tried. */
  ProbeResult dataPort(RuleView rule, BackendView backend) {
    return dataPorts.get(key(rule.name(), backend.id()));
  }

  static String key(String rule, String backend) {
    return rule + "\u0000" + backend;
  }

  /** Counts {@code n} checks run. */
  void ran(int n) {
    checks += n;
  }

  void add(
      Severity severity,
      Check check,
      String rule,
      String backend,
      String what,
      List<String> evidence,
      String fix) {
    findings.add(new Finding(severity, check, rule, backend, what, evidence, fix));
  }

  int checks() {
    return checks;
  }

  List<Finding> list() {
    return findings;
  }
}
