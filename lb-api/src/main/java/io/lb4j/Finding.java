package io.lb4j;

import java.util.List;

/**
 * One problem {@link LoadBalancer#diagnose} found: how bad it is, which check found it, what is
 * wrong, the evidence, and how to fix it.
 *
 * @param severity how bad it is
 * @param check the check that found it
 * @param rule the rule concerned, or null when the finding is not about one rule
 * @param backend the backend concerned, or null when the finding is about a whole rule
 * @param what one sentence: what is wrong
 * @param evidence the observations behind it (probe results, counts, shares, settings)
 * @param fix what to do about it
 */
public record Finding(
    Severity severity,
    Check check,
    String rule,
    String backend,
    String what,
    List<String> evidence,
    String fix) {

  /** How bad a finding is. */
  public enum Severity {
    /** Worth knowing; nothing is failing. */
    INFO,
    /** Traffic is uneven, at risk, or going somewhere it should not. */
    WARNING,
    /** Traffic fails or cannot reach a backend. */
    CRITICAL
  }

  /** The checks {@link LoadBalancer#diagnose} runs, after the troubleshooting checkpoints. */
  public enum Check {
    /** 1. A backend's probe fails: refused, timed out, unexpected status, TLS failure. */
    PROBE_FAILING,
    /** 2. The probe passes on its own port but the data port refuses. */
    DATA_PORT_REFUSED,
    /** 3. The rule's backend port accepts on no backend: often a typo (1443 for 1433). */
    BACKEND_PORT_CLOSED_EVERYWHERE,
    /** 4. New flows are spread out of proportion to the weights. */
    UNEVEN_DISTRIBUTION,
    /** 5. A removed, draining, disabled or unhealthy backend still carries flows. */
    FLOWS_ON_OUT_OF_ROTATION_BACKEND,
    /** 6. Flows come from a backend of the pool they are balanced to. */
    HAIRPIN,
    /** 7. No backend of a rule is healthy; the no-healthy-backend policy decides. */
    ALL_BACKENDS_UNHEALTHY,
    /** 8a. Floating IP (direct server return) is requested. */
    FLOATING_IP,
    /** 8b. The idle timeout is shorter than the time the probe takes to mark a backend down. */
    IDLE_TIMEOUT_SHORTER_THAN_DETECTION,
    /** 8c. A protocol that opens several connections is balanced per 5-tuple. */
    MULTI_CONNECTION_PROTOCOL,
    /** 2b. A backend host answers neither its probe nor its data port: the host, not a port. */
    BACKEND_HOST_SILENT,
    /**
     * 9. The frontend refuses clients: a deny or allow list, a connection limit, a PROXY header.
     */
    CLIENTS_REFUSED,
    /**
     * 10. The proxy's connections to one backend address and port use up the local ephemeral port
     * range (a user-space proxy's SNAT exhaustion).
     */
    SOURCE_PORTS_EXHAUSTING,
    /**
     * 11. A pool's membership source fails, or its last answer was refused by the guard: the pool
     * keeps the last good members, of a given age.
     */
    DISCOVERY_FAILING
  }

  /**
   * Validates the fields and copies the evidence.
   *
   * @param severity how bad it is
   * @param check the check that found it
   * @param rule the rule concerned, or null when the finding is not about one rule
   * @param backend the backend concerned, or null when the finding is about a whole rule
   * @param what one sentence: what is wrong
   * @param evidence the observations behind it (probe results, counts, shares, settings)
   * @param fix what to do about it
   */
  public Finding {
    Checks.notNull(severity, "severity");
    Checks.notNull(check, "check");
    Checks.notNull(what, "what");
    Checks.notNull(fix, "fix");
    evidence = List.copyOf(evidence);
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder();
    sb.append(severity).append(' ').append(check);
    if (rule != null) {
      sb.append(" rule ").append(rule);
    }
    if (backend != null) {
      sb.append(" backend ").append(backend);
    }
    sb.append("\n  ").append(what).append('\n');
    for (String e : evidence) {
      sb.append("  - ").append(e).append('\n');
    }
    return sb.append("  fix: ").append(fix).append('\n').toString();
  }
}
