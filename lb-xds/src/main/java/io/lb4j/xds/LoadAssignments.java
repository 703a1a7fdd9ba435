package io.lb4j.xds;

import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.Locality;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.lb4j.IpLiteral;
import io.lb4j.discovery.Member;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Maps an xDS {@code ClusterLoadAssignment} to a pool's members, or refuses it naming the field.
 *
 * <ul>
 *   <li>Address: {@code endpoint.address.socket_address} with an IP literal {@code address} and a
 *       {@code port_value}; a host name, a {@code named_port}, a pipe or an internal address is
 *       refused (lb4j never resolves names). Only the first address is used ({@code
 *       additional_addresses} are not).
 *   <li>Id: {@link Member#idOf} of the address and port, {@code 10.0.0.7:8080}, also when the
 *       endpoint has a {@code hostname}: every instance derives the same id from the same update.
 *   <li>Weight: the endpoint's {@code load_balancing_weight}, 1 when unset, 1-65535 (0 is invalid
 *       in xDS; above 65535 lb4j cannot express it). The locality's {@code load_balancing_weight}
 *       is not applied, as Envoy does not without {@code locality_weighted_lb_config}.
 *   <li>State: {@code HEALTHY}, {@code UNKNOWN} and {@code DEGRADED} are READY; {@code DRAINING} is
 *       DRAINING; {@code UNHEALTHY} and {@code TIMEOUT} are UNHEALTHY.
 *   <li>Zone: the locality as {@code region/zone/sub_zone}, trailing empty parts left out.
 *   <li>Priority: lb4j's pools have no tiers, so the members are the endpoints of one priority: the
 *       lowest-numbered one with at least one READY endpoint (or the lowest-numbered of all when
 *       none has one). Every endpoint is validated, whatever its priority.
 * </ul>
 *
 * <p>Thread-safe: stateless.
 */
final class LoadAssignments {
  static final String IP_EXPECTED =
      "an IP literal such as 192.0.2.7 or 2001:db8::7; lb4j never" + " resolves names";

  private LoadAssignments() {}

  /**
   * Returns the members {@code cla} describes, in its order.
   *
   * @throws RefusedUpdate naming the first field lb4j cannot apply
   */
  static List<Member> members(ClusterLoadAssignment cla) throws RefusedUpdate {
    TreeMap<Integer, List<Member>> byPriority = new TreeMap<>();
    Map<String, String> seen = new HashMap<>();
    for (int i = 0; i < cla.getEndpointsCount(); i++) {
      LocalityLbEndpoints group = cla.getEndpoints(i);
      String zone = zone(group.getLocality());
      List<Member> tier = byPriority.computeIfAbsent(group.getPriority(), p -> new ArrayList<>());
      for (int j = 0; j < group.getLbEndpointsCount(); j++) {
        String path = "endpoints[" + i + "].lb_endpoints[" + j + "]";
        Member m = member(path, group.getLbEndpoints(j)).withZone(zone);
        String before = seen.putIfAbsent(m.id(), path);
        if (before != null) {
          throw new RefusedUpdate(
              path
                  + ".endpoint.address: "
                  + m.id()
                  + " is also at "
                  + before
                  + " (expected: one endpoint per address and port)");
        }
        tier.add(m);
      }
    }
    for (List<Member> tier : byPriority.values()) {
      for (Member m : tier) {
        if (m.state() == Member.State.READY) {
          return List.copyOf(tier);
        }
      }
    }
    return byPriority.isEmpty() ? List.of() : List.copyOf(byPriority.firstEntry().getValue());
  }

  /** Maps one endpoint at {@code path}, zone not yet set. */
  static Member member(String path, LbEndpoint e) throws RefusedUpdate {
    switch (e.getHostIdentifierCase()) {
      case ENDPOINT:
        break;
      case ENDPOINT_NAME:
        throw new RefusedUpdate(
            path
                + ".endpoint_name: '"
                + e.getEndpointName()
                + "' (expected: an inline endpoint; named endpoints are not supported)");
      default:
        throw new RefusedUpdate(path + ".endpoint: not set (expected: an endpoint)");
    }
    Address address = e.getEndpoint().getAddress();
    String at = path + ".endpoint.address";
    if (address.getAddressCase() != Address.AddressCase.SOCKET_ADDRESS) {
      throw new RefusedUpdate(
          at
              + ": "
              + (address.getAddressCase() == Address.AddressCase.ADDRESS_NOT_SET
                  ? "not set"
                  : address.getAddressCase().name().toLowerCase(java.util.Locale.ROOT))
              + " (expected: a socket_address)");
    }
    SocketAddress socket = address.getSocketAddress();
    at += ".socket_address";
    InetAddress ip;
    try {
      ip = IpLiteral.parse(socket.getAddress());
    } catch (IllegalArgumentException notLiteral) {
      throw new RefusedUpdate(
          at + ".address: '" + socket.getAddress() + "' (expected: " + IP_EXPECTED + ")");
    }
    int port;
    switch (socket.getPortSpecifierCase()) {
      case PORT_VALUE:
        port = socket.getPortValue();
        if (port < 1 || port > 65535) {
          throw new RefusedUpdate(at + ".port_value: " + port + " (expected: 1-65535)");
        }
        break;
      case NAMED_PORT:
        throw new RefusedUpdate(
            at + ".named_port: '" + socket.getNamedPort() + "' (expected: a port_value, 1-65535)");
      default:
        throw new RefusedUpdate(at + ".port_value: not set (expected: 1-65535)");
    }
    int weight = 1;
    if (e.hasLoadBalancingWeight()) {
      long w = Integer.toUnsignedLong(e.getLoadBalancingWeight().getValue());
      if (w < 1 || w > 65535) {
        throw new RefusedUpdate(path + ".load_balancing_weight: " + w + " (expected: 1-65535)");
      }
      weight = (int) w;
    }
    return new Member(Member.idOf(ip, port), ip, port, weight, state(path, e), "");
  }

  /** Maps an endpoint's health status. */
  static Member.State state(String path, LbEndpoint e) throws RefusedUpdate {
    switch (e.getHealthStatus()) {
      case UNKNOWN:
      case HEALTHY:
      case DEGRADED:
        return Member.State.READY;
      case DRAINING:
        return Member.State.DRAINING;
      case UNHEALTHY:
      case TIMEOUT:
        return Member.State.UNHEALTHY;
      default:
        throw new RefusedUpdate(
            path
                + ".health_status: "
                + e.getHealthStatusValue()
                + " (expected: UNKNOWN, HEALTHY, UNHEALTHY, DRAINING, TIMEOUT or DEGRADED)");
    }
  }

  /** Returns {@code region/zone/sub_zone}, trailing empty parts left out; empty for none. */
  static String zone(Locality l) {
    String[] parts = {l.getRegion(), l.getZone(), l.getSubZone()};
    int n = parts.length;
    while (n > 0 && parts[n - 1].isEmpty()) {
      n--;
    }
    return String.join("/", java.util.Arrays.asList(parts).subList(0, n));
  }
}
