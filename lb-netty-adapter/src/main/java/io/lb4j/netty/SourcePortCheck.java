package io.lb4j.netty;

import io.lb4j.Finding;
import io.lb4j.Finding.Check;
import io.lb4j.Finding.Severity;
import io.lb4j.IpLiteral;
import io.netty.util.NetUtil;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Checkpoint 10, {@link Check#SOURCE_PORTS_EXHAUSTING}: the proxy's connections to one backend
 * address and port use up the source ports available to them, the SNAT port exhaustion of Azure's
 * guide in a user-space proxy.
 *
 * <p>Per backend address and port (a target), the ports available are, summed over the rule's
 * source addresses of the target's family: a source's own range ({@code 127.0.0.11:40000-40099}:
 * its size, its ports taken by connections to every backend); or the kernel's ephemeral range
 * ({@code net.ipv4.ip_local_port_range}: its size, the connections open to this target, or to every
 * backend on NIO, which binds the port before it connects). A rule without source addresses counts
 * the local addresses its connections were given.
 *
 * <ul>
 *   <li>{@code CRITICAL} when connects to the target failed for want of a port since its last
 *       connect that succeeded;
 *   <li>{@code WARNING} when the ports in use are above the rule's {@link
 *       RuleOptions#sourcePortWarnPercent()} (80% by default) of those available.
 * </ul>
 *
 * <p>Thread-safe: stateless; reads the live counters.
 */
final class SourcePortCheck {
  private SourcePortCheck() {}

  /** Returns the findings for the proxy's targets now, by the routes (rules) in force. */
  static List<Finding> findings(SourcePorts ports, Map<String, Route> routes) {
    List<SourcePorts.Target> targets = new ArrayList<>();
    for (SourcePorts.Target t : ports.targets()) {
      targets.add(t);
    }
    targets.sort(Comparator.comparing(t -> IpLiteral.format(t.address)));
    List<Finding> out = new ArrayList<>();
    for (SourcePorts.Target t : targets) {
      List<String> rules = new ArrayList<>();
      for (String r : t.rules) {
        if (routes.containsKey(r)) {
          rules.add(r);
        }
      }
      if (rules.isEmpty()) {
        continue;
      }
      rules.sort(null);
      Finding f = check(ports, t, routes.get(rules.get(0)), rules);
      if (f != null) {
        out.add(f);
      }
    }
    return out;
  }

  private static Finding check(
      SourcePorts ports, SourcePorts.Target t, Route route, List<String> rules) {
    List<String> perSource = new ArrayList<>();
    long used = 0;
    long available = 0;
    int kernel = ports.kernelRangeSize();
    String kernelRange =
        ports.kernelRangeSource + " " + ports.kernelLow + "-" + ports.kernelHigh + ", " + kernel;
    SourcePorts.Picker sources = route.sources();
    InetAddress to = t.address.getAddress();
    boolean anyKernel = sources == null; // a source whose ports the kernel picks
    if (sources != null) {
      for (int i = 0; i < sources.sources.length; i++) {
        SourceAddress s = sources.sources[i];
        if (!SourcePorts.sameFamily(s.address(), to)) {
          continue;
        }
        SourcePorts.Slot slot = t.bySource.get(s.address());
        long u;
        long a;
        String what;
        if (sources.rings[i] != null) {
          u = sources.rings[i].inUse();
          a = sources.rings[i].size();
          what = "its own range, ports held by connections to every backend";
        } else {
          anyKernel = true;
          a = kernel;
          if (ports.portPerTarget) {
            u = slot == null ? 0 : slot.open.get();
            what = "ports of " + kernelRange + ", per backend address and port";
          } else {
            u = ports.openFrom(s.address());
            what =
                "ports of " + kernelRange + ", shared by every backend (NIO binds before connect)";
          }
        }
        used += u;
        available += a;
        perSource.add(
            "source "
                + s
                + ": "
                + u
                + " of "
                + a
                + " ports in use ("
                + percent(u, a)
                + "; "
                + what
                + ")");
      }
    } else {
      for (Map.Entry<InetAddress, SourcePorts.Slot> e : t.bySource.entrySet()) {
        long u = e.getValue().open.get();
        used += u;
        available += kernel;
        perSource.add(
            "source "
                + NetUtil.toAddressString(e.getKey())
                + " (picked by the kernel: no sourceAddresses): "
                + u
                + " of "
                + kernel
                + " ports in use ("
                + percent(u, kernel)
                + "; ports of "
                + kernelRange
                + ")");
      }
      if (available == 0) {
        available = kernel;
      }
    }
    long failing = t.failingSinceSuccess.get();
    long failures = t.exhaustionFailures.sum();
    int warn = route.options().sourcePortWarnPercent();
    boolean above = available > 0 && used * 100 > (long) warn * available;
    if (failing == 0 && !above) {
      return null;
    }
    String target = (t.backend != null ? t.backend + " " : "") + IpLiteral.format(t.address);
    String rule = rules.get(0);
    String what =
        failing > 0
            ? "connects of rule "
                + rule
                + " to "
                + target
                + " fail for want of a local source port (EADDRNOTAVAIL, \"Cannot assign"
                + " requested address\"): "
                + failing
                + " failed since the last connect that succeeded"
            : "rule "
                + rule
                + "'s connections to "
                + target
                + " hold "
                + percent(used, available)
                + " of the local source ports available to them: at 100% new connects to it fail"
                + " with \"Cannot assign requested address\"";
    List<String> evidence = new ArrayList<>();
    evidence.add(
        t.open()
            + " connections open to "
            + IpLiteral.format(t.address)
            + "; "
            + used
            + " of "
            + available
            + " source ports in use ("
            + percent(used, available)
            + "); warning above "
            + warn
            + "% (sourcePortWarnPercent)");
    evidence.addAll(perSource);
    evidence.add(
        failures
            + (failures == 1 ? " connect" : " connects")
            + " failed for want of a source port since start, "
            + failing
            + " since the last success"
            + (t.lastFailure != null && failures > 0 ? "; last: " + t.lastFailure : ""));
    if (rules.size() > 1) {
      evidence.add("rules sharing these ports: " + rules);
    }
    String fix =
        (sources == null
                ? "bind rule "
                    + rule
                    + "'s backend connections to several local addresses (sourceAddresses: ["
                    + example(to, 11)
                    + ", "
                    + example(to, 12)
                    + "], each with its own "
                    + kernel
                    + " ports)"
                : "add addresses to rule "
                    + rule
                    + "'s sourceAddresses (each adds its own ports: "
                    + kernel
                    + " without a port range) or widen their port ranges")
            + (anyKernel && kernel < 64512
                ? ", widen the kernel's range (sysctl -w net.ipv4.ip_local_port_range=\"1024"
                    + " 65535\")"
                : "")
            + ", or add backends to the rule's pool (each backend address and port has ports of"
            + " its own)";
    return new Finding(
        failing > 0 ? Severity.CRITICAL : Severity.WARNING,
        Check.SOURCE_PORTS_EXHAUSTING,
        rule,
        t.backend,
        what,
        evidence,
        fix);
  }

  /** An address of the family of {@code to} for the fix's example: 127.0.0.11, or fd00::11. */
  private static String example(InetAddress to, int last) {
    return to instanceof Inet4Address
        ? (to.isLoopbackAddress() ? "127.0.0." : "192.0.2.") + last
        : "2001:db8::" + last;
  }

  private static String percent(long part, long whole) {
    return String.format(Locale.ROOT, "%.1f%%", whole == 0 ? 0.0 : 100.0 * part / whole);
  }
}
