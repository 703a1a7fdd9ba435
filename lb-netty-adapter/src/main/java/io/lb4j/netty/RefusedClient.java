package io.lb4j.netty;

import io.lb4j.IpLiteral;
import java.net.InetAddress;
import java.time.Instant;
import java.util.Objects;

/**
 * One refused connection, as kept among a rule's recent refusals: its source, the reason and what
 * it matched.
 *
 * <p>{@link #toString()} reads {@code 127.0.0.70 DENY_LIST 127.0.0.64/26 at 2026-11-21T12:00:01Z}.
 *
 * <p>Instances are immutable and thread-safe.
 *
 * @param source the client's address (the PROXY header's source when the frontend reads one)
 * @param reason why it was refused
 * @param match what refused it: the deny network ({@code 127.0.0.64/26}), the allow list ({@code
 *     [10.0.0.0/8]}), the connection limit ({@code 100}), the PROXY header's error or deadline, or
 *     the balancer's answer
 * @param at when
 */
public record RefusedClient(InetAddress source, RefusalReason reason, String match, Instant at) {
  /**
   * Checks that no field is null.
   *
   * @param source the client's address (the PROXY header's source when the frontend reads one)
   * @param reason why it was refused
   * @param match what refused it: the deny network ({@code 127.0.0.64/26}), the allow list ({@code
   *     [10.0.0.0/8]}), the connection limit ({@code 100}), the PROXY header's error or deadline,
   *     or the balancer's answer
   * @param at when
   */
  public RefusedClient {
    Objects.requireNonNull(source, "source");
    Objects.requireNonNull(reason, "reason");
    Objects.requireNonNull(match, "match");
    Objects.requireNonNull(at, "at");
  }

  @Override
  public String toString() {
    return IpLiteral.format(source) + " " + reason + " " + match + " at " + at;
  }
}
