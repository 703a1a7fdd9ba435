package io.lb4j.core.diagnose;

import static io.lb4j.core.diagnose.Texts.human;

import io.lb4j.DistributionMode;
import io.lb4j.Finding.Check;
import io.lb4j.Finding.Severity;
import io.lb4j.HealthProbe;
import io.lb4j.LoadBalancingRule;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Checkpoint 8: settings that work against each other — floating IP through a proxy, an idle
 * timeout shorter than the probe's detection time, a multi-connection protocol hashed per 5-tuple.
 */
final class ConfigSmellCheck implements RuleCheck {
  /** Protocols that open more than one connection, by well-known port. */
  static final Map<Integer, String> MULTI_CONNECTION_PORTS =
      Map.of(
          21, "FTP (control on 21, data on another connection)",
          69, "TFTP (transfers from a new server port)",
          111, "ONC RPC portmapper (services on other ports)",
          135, "MS RPC endpoint mapper (services on other ports)",
          554, "RTSP (media on separate connections)",
          1723, "PPTP (GRE tunnel beside the TCP control connection)",
          5060, "SIP (media on separate RTP flows)");

  @Override
  public void run(BalancerView view, RuleView r, Findings out) {
    LoadBalancingRule lr = r.lb();
    if (lr == null) {
      return;
    }
    out.ran(3);
    if (lr.floatingIp()) {
      out.add(
          Severity.WARNING,
          Check.FLOATING_IP,
          r.name(),
          null,
          "rule " + r.name() + " requests floating IP (direct server return)",
          List.of("floatingIp: true"),
          "each backend must accept traffic for the frontend address itself (a loopback alias"
              + " with ARP off) and answer from it; lb4j's proxy relays through its own address"
              + " and refuses such rules, so turn it off unless an embedder forwards packets");
    }
    HealthProbe probe = r.probe();
    if (probe != null) {
      Duration detection = probe.interval().multipliedBy(probe.unhealthyThreshold());
      if (lr.idleTimeout().compareTo(detection) < 0) {
        out.add(
            Severity.WARNING,
            Check.IDLE_TIMEOUT_SHORTER_THAN_DETECTION,
            r.name(),
            null,
            "rule "
                + r.name()
                + "'s idle timeout ("
                + human(lr.idleTimeout())
                + ") is shorter than the probe's detection time ("
                + human(probe.interval())
                + " x "
                + probe.unhealthyThreshold()
                + " = "
                + human(detection)
                + ")",
            List.of(
                "idleTimeout " + human(lr.idleTimeout()),
                "probe '"
                    + probe.name()
                    + "' interval "
                    + human(probe.interval())
                    + ", unhealthyThreshold "
                    + probe.unhealthyThreshold()),
            "clients reconnect after idle drops faster than a dead backend is noticed, so their"
                + " retries keep landing on it: raise the idle timeout or probe more often");
      }
    }
    boolean hashed = lr.selection().algorithm().isConsistentHash();
    if (lr.distributionMode() == DistributionMode.FIVE_TUPLE || !hashed) {
      String protocol = MULTI_CONNECTION_PORTS.get(lr.frontendPort());
      if (protocol == null) {
        protocol = MULTI_CONNECTION_PORTS.get(lr.backendPort());
      }
      if (protocol != null) {
        out.add(
            Severity.WARNING,
            Check.MULTI_CONNECTION_PROTOCOL,
            r.name(),
            null,
            "rule "
                + r.name()
                + " balances "
                + protocol
                + (hashed
                    ? " per 5-tuple"
                    : " with " + lr.selection().algorithm() + ", which ignores the client")
                + ": its connections can land on different backends",
            List.of(
                "frontend port " + lr.frontendPort() + ", backend port " + lr.backendPort(),
                hashed
                    ? "distributionMode FIVE_TUPLE"
                    : "selection " + lr.selection().algorithm() + " (no hash of the client)"),
            hashed
                ? "use SOURCE_IP (client-IP persistence) so a client's connections meet one"
                    + " backend"
                : "use a consistent hash (MAGLEV) with SOURCE_IP distribution so a client's"
                    + " connections meet one backend");
      }
    }
  }
}
