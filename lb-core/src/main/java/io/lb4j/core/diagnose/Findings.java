package io.lb4j.core.diagnose;

import io.lb4j.Finding;
import io.lb4j.Finding.Check;
import io.lb4j.Finding.Severity;
import java.util.ArrayList;
import java.util.List;

/** What one diagnosis found, and how many checks it ran. Not thread-safe: one per diagnosis. */
final class Findings {
  private final List<Finding> findings = new ArrayList<>();
  private int checks;

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
