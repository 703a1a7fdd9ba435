package io.lb4j.discovery;

import java.time.Duration;
import java.time.Instant;

/**
 * A pool's membership source as the balancer sees it now.
 *
 * <p>Instances are immutable and thread-safe.
 *
 * @param pool the pool the source feeds
 * @param source what the source asks and of whom ({@link MembershipSource#describe()})
 * @param state the source's state
 * @param members the members the pool has from it now
 * @param lastGoodAnswer when the last answer was applied (or was equal to the pool), or null
 * @param lastProblem the last failure or refusal, or null
 * @param lastProblemAt when it happened, or null
 * @param answersApplied answers that changed the pool
 * @param answersUnchanged answers equal to the pool, which rebuilt nothing
 * @param answersRefused answers the guard refused
 * @param failures failures the source reported
 */
public record DiscoveryStatus(
    String pool,
    String source,
    State state,
    int members,
    Instant lastGoodAnswer,
    String lastProblem,
    Instant lastProblemAt,
    long answersApplied,
    long answersUnchanged,
    long answersRefused,
    long failures) {

  /** A source's state. */
  public enum State {
    /** Started, no answer yet. */
    WAITING,
    /** Its last answer was applied. */
    OK,
    /** It failed; the pool keeps the last good members. */
    FAILING,
    /** The guard refused its last answer; the pool keeps the last good members. */
    REFUSED
  }

  /**
   * Returns how long ago the last good answer came, at {@code now}, or null without one.
   *
   * @param now the current time
   * @return the time since the last good answer, or null if the source has never answered
   */
  public Duration ageOfLastGoodAnswer(Instant now) {
    return lastGoodAnswer == null ? null : Duration.between(lastGoodAnswer, now);
  }
}
