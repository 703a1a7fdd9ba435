package io.lb4j;

import java.time.Instant;
import java.util.Comparator;
import java.util.List;

/**
 * What {@link LoadBalancer#diagnose} found, worst first. An empty list means every check passed.
 *
 * @param at when the checks ran
 * @param checksRun how many checks ran (per rule and backend)
 * @param findings the findings, most severe first
 */
public record Diagnosis(Instant at, int checksRun, List<Finding> findings) {
  /**
   * Validates the fields and sorts the findings, most severe first.
   *
   * @param at when the checks ran
   * @param checksRun how many checks ran (per rule and backend)
   * @param findings the findings, most severe first
   */
  public Diagnosis {
    Checks.notNull(at, "at");
    findings =
        findings.stream().sorted(Comparator.comparing(Finding::severity).reversed()).toList();
  }

  /**
   * Returns the findings at {@code severity} or worse.
   *
   * @param severity the least severity to include
   * @return the findings at that severity or worse, worst first
   */
  public List<Finding> atLeast(Finding.Severity severity) {
    return findings.stream().filter(f -> f.severity().compareTo(severity) >= 0).toList();
  }

  /**
   * Returns the findings of {@code check}.
   *
   * @param check a troubleshooting check
   * @return the findings of that check, worst first; empty when it found nothing
   */
  public List<Finding> of(Finding.Check check) {
    return findings.stream().filter(f -> f.check() == check).toList();
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder();
    sb.append("lb4j diagnosis at ").append(at).append(": ").append(checksRun).append(" checks, ");
    if (findings.isEmpty()) {
      return sb.append("no findings\n").toString();
    }
    sb.append(findings.size()).append(findings.size() == 1 ? " finding\n" : " findings\n");
    for (Finding f : findings) {
      sb.append('\n').append(f);
    }
    return sb.toString();
  }
}
