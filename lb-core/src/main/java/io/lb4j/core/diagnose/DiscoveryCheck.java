package io.lb4j.core.diagnose;

import io.lb4j.Durations;
import io.lb4j.Finding;
import io.lb4j.discovery.DiscoveryStatus;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * 11. {@code DISCOVERY_FAILING}: a pool's membership source fails, or the guard refused its last
 * answer; the pool keeps the members of the last good answer, and says how old they are.
 *
 * <p>Internal to lb4j: the balancer's {@code diagnose()} is the API.
 */
public final class DiscoveryCheck {
  private DiscoveryCheck() {}

  /**
   * Returns a finding per source that is failing or refused, at {@code now}.
   *
   * @param statuses the status of every attached source
   * @param now the current time, for the age of each source's last good answer
   * @return one finding per failing or refused source; empty when all answer
   */
  public static List<Finding> findings(List<DiscoveryStatus> statuses, Instant now) {
    List<Finding> out = new ArrayList<>();
    for (DiscoveryStatus s : statuses) {
      if (s.state() != DiscoveryStatus.State.FAILING
          && s.state() != DiscoveryStatus.State.REFUSED) {
        continue;
      }
      Duration age = s.ageOfLastGoodAnswer(now);
      String kept =
          age == null
              ? "the pool keeps the "
                  + s.members()
                  + " members of its configuration: no good answer yet"
              : "the pool keeps the "
                  + s.members()
                  + " members of the last good answer, "
                  + Durations.format(Duration.ofSeconds(age.toSeconds()))
                  + " old";
      List<String> evidence = new ArrayList<>();
      evidence.add("source: " + s.source());
      evidence.add(
          (s.state() == DiscoveryStatus.State.REFUSED ? "last answer refused: " : "last failure: ")
              + s.lastProblem()
              + " (at "
              + s.lastProblemAt()
              + ")");
      evidence.add(
          s.failures()
              + " failures, "
              + s.answersRefused()
              + " answers refused, "
              + s.answersApplied()
              + " applied, "
              + s.answersUnchanged()
              + " unchanged");
      out.add(
          new Finding(
              s.members() == 0 ? Finding.Severity.CRITICAL : Finding.Severity.WARNING,
              Finding.Check.DISCOVERY_FAILING,
              null,
              null,
              "pool '"
                  + s.pool()
                  + "': its membership source "
                  + (s.state() == DiscoveryStatus.State.REFUSED
                      ? "gave an answer the guard refused"
                      : "fails")
                  + "; "
                  + kept,
              evidence,
              s.state() == DiscoveryStatus.State.REFUSED
                  ? "if the members really left, allow it (discovery applyEmptyAnswer or a higher"
                      + " maxRemovedPercent); otherwise fix what the source publishes"
                  : "check the source (the DNS server, the xDS management server, the API server)"
                      + " from this host; members added or removed meanwhile are not seen"));
    }
    return out;
  }
}
