package io.lb4j.kubernetes;

import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointConditions;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointPort;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.lb4j.IpLiteral;
import io.lb4j.discovery.Member;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * Makes one complete answer of the EndpointSlices of a Service: every slice merged, the chosen port
 * resolved per slice, each address of each endpoint a member, its state from the endpoint's
 * conditions.
 *
 * <ul>
 *   <li>{@code terminating} true: {@link Member.State#DRAINING} (serving or not: no new flows,
 *       established ones finish while the pod shuts down);
 *   <li>else {@code ready} true or absent (the API says absent means true): {@link
 *       Member.State#READY};
 *   <li>else (not ready, not terminating: starting, or failing its readiness probe): {@link
 *       Member.State#UNHEALTHY} — kept in the pool, sent no new flows, as kube-proxy sends none.
 * </ul>
 *
 * <p>A slice contributes nothing when it does not list the port (its endpoints listen on another
 * port set, as during a change of the Service's ports), when its {@code addressType} is {@code
 * FQDN} or not one this source takes, or when it belongs to another Service; the reason is kept for
 * a log line. An address in two slices (Kubernetes allows it while it moves endpoints between
 * slices) is one member: the best state wins (READY, then DRAINING, then UNHEALTHY), then the slice
 * whose name sorts first, so that every instance decides alike. Ids are {@link
 * Member#idOf(InetAddress, int)}, never a pod's name, for the same reason; members come sorted by
 * id.
 *
 * <p>Immutable and thread-safe.
 */
final class EndpointSliceMapper {
  /** The label that ties a slice to its Service. */
  static final String SERVICE_NAME_LABEL = "kubernetes.io/service-name";

  private static final Comparator<EndpointSlice> BY_NAME =
      Comparator.comparing(s -> s.getMetadata() == null ? "" : s.getMetadata().getName());

  private final String service;
  private final PortRef port;
  private final boolean ipv4;
  private final boolean ipv6;

  EndpointSliceMapper(String service, PortRef port, boolean ipv4, boolean ipv6) {
    this.service = Objects.requireNonNull(service, "service");
    this.port = Objects.requireNonNull(port, "port");
    if (!ipv4 && !ipv6) {
      throw new IllegalArgumentException("addressTypes: none (expected: IPv4, IPv6 or both)");
    }
    this.ipv4 = ipv4;
    this.ipv6 = ipv6;
  }

  /**
   * One answer: the members, sorted by id, and why slices or addresses contributed nothing.
   *
   * @param members the members
   * @param skipped one line per slice (or address) left out, for the operator
   */
  record Answer(List<Member> members, Set<String> skipped) {
    Answer {
      members = List.copyOf(members);
      skipped = java.util.Collections.unmodifiableSet(new LinkedHashSet<>(skipped));
    }
  }

  /** Returns the answer {@code slices} make. */
  Answer map(Collection<EndpointSlice> slices) {
    List<EndpointSlice> sorted = new ArrayList<>(slices);
    sorted.sort(BY_NAME);
    Map<String, Member> byId = new TreeMap<>();
    Set<String> skipped = new LinkedHashSet<>();
    for (EndpointSlice slice : sorted) {
      addSlice(slice, byId, skipped);
    }
    return new Answer(new ArrayList<>(byId.values()), skipped);
  }

  private void addSlice(EndpointSlice slice, Map<String, Member> byId, Set<String> skipped) {
    ObjectMeta meta = slice.getMetadata();
    String name = meta == null ? "?" : meta.getName();
    if (meta == null
        || meta.getLabels() == null
        || !service.equals(meta.getLabels().get(SERVICE_NAME_LABEL))) {
      return; // another Service's slice; the label selector should not have sent it
    }
    List<Endpoint> endpoints = slice.getEndpoints() == null ? List.of() : slice.getEndpoints();
    String type = slice.getAddressType();
    boolean v4 = "IPv4".equals(type);
    boolean v6 = "IPv6".equals(type);
    if (!v4 && !v6) {
      skipped.add(
          "endpointslice "
              + name
              + ": addressType "
              + type
              + " (expected: IPv4 or IPv6; an FQDN slice names hosts, and lb4j takes addresses);"
              + " its "
              + endpoints.size()
              + " endpoints are skipped");
      return;
    }
    if ((v4 && !ipv4) || (v6 && !ipv6)) {
      return; // a family this source was told not to take: not a problem, not logged
    }
    Integer number = portOf(slice);
    if (number == null) {
      skipped.add(
          "endpointslice "
              + name
              + " has no port "
              + port
              + " (its ports: "
              + describePorts(slice.getPorts())
              + "); its "
              + endpoints.size()
              + " endpoints contribute nothing");
      return;
    }
    for (Endpoint e : endpoints) {
      Member.State state = stateOf(e.getConditions());
      String zone = e.getZone() == null ? "" : e.getZone();
      List<String> addresses = e.getAddresses() == null ? List.of() : e.getAddresses();
      for (String a : addresses) {
        InetAddress address;
        try {
          address = IpLiteral.parse(a);
        } catch (IllegalArgumentException ex) {
          skipped.add(
              "endpointslice " + name + ": address '" + a + "' skipped: " + ex.getMessage());
          continue;
        }
        if (v4 ? !(address instanceof Inet4Address) : !(address instanceof Inet6Address)) {
          skipped.add(
              "endpointslice "
                  + name
                  + ": address '"
                  + a
                  + "' skipped (expected: an "
                  + type
                  + " address, as the slice's addressType says)");
          continue;
        }
        Member m = new Member(Member.idOf(address, number), address, number, 1, state, zone);
        byId.merge(m.id(), m, (old, now) -> rank(now.state()) < rank(old.state()) ? now : old);
      }
    }
  }

  /** Returns the number of this source's port in {@code slice}, or null when it has none. */
  private Integer portOf(EndpointSlice slice) {
    if (slice.getPorts() == null) {
      return null;
    }
    for (EndpointPort p : slice.getPorts()) {
      if (port.matches(p) && p.getPort() != null && p.getPort() >= 1 && p.getPort() <= 65535) {
        return p.getPort();
      }
    }
    return null;
  }

  private static String describePorts(List<EndpointPort> ports) {
    if (ports == null || ports.isEmpty()) {
      return "none";
    }
    List<String> out = new ArrayList<>();
    for (EndpointPort p : ports) {
      String n = p.getName() == null || p.getName().isEmpty() ? "(unnamed)" : p.getName();
      out.add(n + "/" + (p.getPort() == null ? "any" : p.getPort()));
    }
    return String.join(", ", out);
  }

  /** Returns a member's state from an endpoint's conditions (absent ones as the API defines). */
  static Member.State stateOf(EndpointConditions c) {
    if (c != null && Boolean.TRUE.equals(c.getTerminating())) {
      return Member.State.DRAINING;
    }
    if (c == null || c.getReady() == null || c.getReady()) {
      return Member.State.READY;
    }
    return Member.State.UNHEALTHY;
  }

  private static int rank(Member.State s) {
    return switch (s) {
      case READY -> 0;
      case DRAINING -> 1;
      case UNHEALTHY -> 2;
    };
  }
}
