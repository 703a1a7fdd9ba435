package io.lb4j.discovery;

import io.lb4j.IpLiteral;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.Objects;

/**
 * One member of a backend pool as a {@link MembershipSource} publishes it: where it listens, its
 * weight, and what the source knows of its state and zone.
 *
 * <p>{@link #id()} becomes the backend's id. Sources derive it identically in every process — from
 * the address and port ({@link #of(InetAddress, int)}: {@code 10.0.0.7:8080}, or {@code
 * ip6-2001-db8--7.8080} for IPv6, as a backend id holds no brackets), which lb4j's DNS, xDS and
 * Kubernetes sources all use, or from a source's own name that every instance sees alike — so the
 * selection tables of every lb4j instance fed by the same source agree.
 *
 * <p>The zone is the source's (an xDS locality, a Kubernetes zone); lb4j does not route by zone.
 *
 * <p>Instances are immutable and thread-safe.
 *
 * @param id the backend id
 * @param address the member's IP address
 * @param port the member's port, 1-65535
 * @param weight its weight, 0-65535 (1 when the source has none)
 * @param state what the source says of it
 * @param zone its zone or locality, or an empty string
 */
public record Member(
    String id, InetAddress address, int port, int weight, State state, String zone) {

  /** What a source says of a member. */
  public enum State {
    /** Ready for new connections (DNS: every answer; xDS: HEALTHY or UNKNOWN; k8s: ready). */
    READY,
    /**
     * Going away: no new connections, established ones continue (xDS DRAINING, a terminating
     * Kubernetes endpoint). Applied as the admin state {@code DRAINING}.
     */
    DRAINING,
    /** Known bad by the source (xDS UNHEALTHY, TIMEOUT): applied as the override FORCE_DOWN. */
    UNHEALTHY
  }

  /**
   * Validates the fields.
   *
   * @param id the backend id
   * @param address the member's IP address
   * @param port the member's port, 1-65535
   * @param weight its weight, 0-65535 (1 when the source has none)
   * @param state what the source says of it
   * @param zone its zone or locality, or an empty string
   */
  public Member {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(address, "address");
    Objects.requireNonNull(state, "state");
    Objects.requireNonNull(zone, "zone");
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("port: " + port + " (expected: 1-65535)");
    }
    if (weight < 0 || weight > 65535) {
      throw new IllegalArgumentException("weight: " + weight + " (expected: 0-65535)");
    }
  }

  /**
   * Returns a ready member of weight 1 at {@code address:port}, its id derived from both.
   *
   * @param address the member's IP address
   * @param port the member's port, 1-65535
   * @return a {@link State#READY} member of weight 1 and no zone, its id {@link #idOf(InetAddress,
   *     int)}
   */
  public static Member of(InetAddress address, int port) {
    return new Member(idOf(address, port), address, port, 1, State.READY, "");
  }

  /**
   * Returns this member with weight {@code weight}.
   *
   * @param weight the new weight, 0-65535
   * @return a copy with the new weight; this member is unchanged
   */
  public Member withWeight(int weight) {
    return new Member(id, address, port, weight, state, zone);
  }

  /**
   * Returns this member in state {@code state}.
   *
   * @param state what the source now says of the member
   * @return a copy in the new state; this member is unchanged
   */
  public Member withState(State state) {
    return new Member(id, address, port, weight, state, zone);
  }

  /**
   * Returns this member in zone {@code zone}.
   *
   * @param zone the zone or locality, or an empty string for none
   * @return a copy in the new zone; this member is unchanged
   */
  public Member withZone(String zone) {
    return new Member(id, address, port, weight, state, zone);
  }

  /**
   * Returns the id a member at {@code address:port} gets when its source has no name for it: {@code
   * 10.0.0.7:8080}, or {@code ip6-2001-db8--7.8080} for IPv6.
   *
   * @param address the member's IP address
   * @param port the member's port, 1-65535
   * @return the id, a valid backend id that is the same in every process
   */
  public static String idOf(InetAddress address, int port) {
    if (address instanceof Inet4Address) {
      return address.getHostAddress() + ":" + port;
    }
    return "ip6-" + IpLiteral.format(address).replace(':', '-') + "." + port;
  }
}
