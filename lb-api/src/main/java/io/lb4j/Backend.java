package io.lb4j;

import java.net.InetAddress;
import java.net.InetSocketAddress;

/**
 * A server that flows are sent to.
 *
 * <p>The {@link #id()} is the backend's stable identity: hash tables are built from it, never from
 * its position in a list, so the same set of ids gives the same assignments in every process. The
 * {@link #port()} is 0 when the backend takes the port of the rule that uses it, or a port that
 * overrides it. A weight of 0 keeps a backend in its pool but sends it no new flows (LVS's quiesced
 * server).
 *
 * <pre>{@code
 * Backend web1 = Backend.of("web-1", "127.0.0.2").withWeight(3);
 * Backend db = Backend.of("db-1", "127.0.0.3", 5432);
 * }</pre>
 *
 * <p>{@link #toString()} reads {@code web-1(127.0.0.2, weight=3, ENABLED)} or {@code
 * db-1(127.0.0.3:5432, weight=1, DRAINING, FORCE_UP)} (the override shows when it is not {@code
 * FOLLOW_PROBE}).
 *
 * <p>Instances are immutable and thread-safe.
 *
 * @param id stable identity, unique within a pool
 * @param address IP address
 * @param port port override, or 0 to use the rule's backend port
 * @param weight relative share of new flows, 0-65535
 * @param adminState the operator's state
 * @param healthOverride the operator's override of the probe verdict
 */
public record Backend(
    String id,
    InetAddress address,
    int port,
    int weight,
    AdminState adminState,
    HealthOverride healthOverride) {

  /** The default weight, 1. */
  public static final int DEFAULT_WEIGHT = 1;

  /** The largest weight, 65535, as in LVS. */
  public static final int MAX_WEIGHT = 65535;

  /**
   * Validates the backend.
   *
   * @param id stable identity, unique within a pool
   * @param address IP address
   * @param port port override, or 0 to use the rule's backend port
   * @param weight relative share of new flows, 0-65535
   * @param adminState the operator's state
   * @param healthOverride the operator's override of the probe verdict
   */
  public Backend {
    Checks.name("id", id);
    Checks.notNull(address, "address");
    Checks.range("port", port, 0, 65535);
    Checks.range("weight", weight, 0, MAX_WEIGHT);
    Checks.notNull(adminState, "adminState");
    Checks.notNull(healthOverride, "healthOverride");
  }

  /**
   * Returns an enabled backend of weight 1 at the IP literal {@code address}, taking the rule's
   * backend port.
   *
   * @param id the backend's id, unique in its pool: 1-64 characters of {@code [A-Za-z0-9._:-]},
   *     starting with a letter or digit
   * @param address an IPv4 or IPv6 literal such as {@code 127.0.0.2} or {@code ::1}; no host name
   * @return the backend
   * @throws IllegalArgumentException if the id or the address is invalid
   */
  public static Backend of(String id, String address) {
    return new Backend(
        id,
        Checks.ipLiteral("address", address),
        0,
        DEFAULT_WEIGHT,
        AdminState.ENABLED,
        HealthOverride.FOLLOW_PROBE);
  }

  /**
   * Returns an enabled backend of weight 1 at the IP literal {@code address} and {@code port}.
   *
   * @param id the backend's id, unique in its pool: 1-64 characters of {@code [A-Za-z0-9._:-]},
   *     starting with a letter or digit
   * @param address an IPv4 or IPv6 literal such as {@code 127.0.0.2} or {@code ::1}; no host name
   * @param port the port flows are sent to, overriding the rule's backend port; 1-65535
   * @return the backend
   * @throws IllegalArgumentException if the id, the address or the port is invalid
   */
  public static Backend of(String id, String address, int port) {
    return new Backend(
        id,
        Checks.ipLiteral("address", address),
        Checks.port("port", port),
        DEFAULT_WEIGHT,
        AdminState.ENABLED,
        HealthOverride.FOLLOW_PROBE);
  }

  /**
   * Returns this backend with weight {@code weight}.
   *
   * @param weight the relative share of new flows, 0-65535; 0 takes none
   * @return a copy with the new weight; this backend is unchanged
   * @throws IllegalArgumentException if {@code weight} is outside 0-65535
   */
  public Backend withWeight(int weight) {
    return new Backend(id, address, port, weight, adminState, healthOverride);
  }

  /**
   * Returns this backend in admin state {@code state}.
   *
   * @param state enabled, draining (no new flows) or disabled (flows ended)
   * @return a copy in the new state; this backend is unchanged
   */
  public Backend withAdminState(AdminState state) {
    return new Backend(id, address, port, weight, state, healthOverride);
  }

  /**
   * Returns this backend with health override {@code override}.
   *
   * @param override follow the probes, or force up or down
   * @return a copy with the new override; this backend is unchanged
   */
  public Backend withHealthOverride(HealthOverride override) {
    return new Backend(id, address, port, weight, adminState, override);
  }

  /**
   * Returns this backend with port override {@code port}, or none when it is 0.
   *
   * @param port the port flows are sent to, 1-65535, or 0 for the rule's backend port
   * @return a copy with the new port; this backend is unchanged
   * @throws IllegalArgumentException if {@code port} is outside 0-65535
   */
  public Backend withPort(int port) {
    return new Backend(id, address, port, weight, adminState, healthOverride);
  }

  /** {@return whether the backend overrides the rule's backend port} */
  public boolean hasPortOverride() {
    return port != 0;
  }

  /**
   * Returns the address flows are sent to: the backend's address with its port override, or with
   * {@code rulePort} when it has none.
   *
   * @param rulePort the backend port of the rule that sends the flow
   * @return the backend's address with its own port if it has one, else {@code rulePort}
   */
  public InetSocketAddress target(int rulePort) {
    return new InetSocketAddress(address, port != 0 ? port : rulePort);
  }

  @Override
  public String toString() {
    String host = IpLiteral.format(address);
    if (host.indexOf(':') >= 0 && port != 0) {
      host = "[" + host + "]";
    }
    return id
        + "("
        + host
        + (port != 0 ? ":" + port : "")
        + ", weight="
        + weight
        + ", "
        + adminState
        + (healthOverride == HealthOverride.FOLLOW_PROBE ? "" : ", " + healthOverride)
        + ")";
  }
}
