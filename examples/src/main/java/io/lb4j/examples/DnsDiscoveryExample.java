package io.lb4j.examples;

import io.lb4j.Backend;
import io.lb4j.BackendPool;
import io.lb4j.FlowKey;
import io.lb4j.Frontend;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancerListener;
import io.lb4j.LoadBalancingRule;
import io.lb4j.Protocol;
import io.lb4j.Selection;
import io.lb4j.core.L4LoadBalancer;
import io.lb4j.discovery.DiscoveryOptions;
import io.lb4j.discovery.DiscoveryStatus;
import io.lb4j.dns.DnsMembershipSource;
import io.lb4j.dns.DnsRecordType;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;

/**
 * A pool whose members come from DNS: the balancer's pool {@code web} follows a name's A/AAAA or
 * SRV records, asked of the DNS server given, and the program prints every change of the pool, the
 * source's status and where a few flows go, once a second.
 *
 * <pre>
 * java -cp 'examples/target/lb4j-examples.jar:examples/target/lib/*' \
 *     io.lb4j.examples.DnsDiscoveryExample SERVER NAME [RECORD [PORT [SECONDS]]]
 *
 *   SERVER   the DNS server, ip:port        127.0.0.53:5353
 *   NAME     the name to resolve            web.test, _http._tcp.web.test
 *   RECORD   A, AAAA, A_AAAA or SRV          default A (SRV when NAME starts with '_')
 *   PORT     the members' port for A/AAAA   default 8080
 *   SECONDS  how long to run                default 60
 * </pre>
 *
 * <p>docs/discovery-dns.md shows how to run it against a dnsmasq on loopback and change the records
 * while it runs.
 */
public final class DnsDiscoveryExample {
  public static void main(String[] args) throws Exception {
    if (args.length < 2) {
      System.err.println(
          "usage: DnsDiscoveryExample SERVER NAME [RECORD [PORT [SECONDS]]]\n"
              + "  e.g. DnsDiscoveryExample 127.0.0.53:5353 web.test A 8080");
      System.exit(2);
    }
    String name = args[1];
    DnsRecordType record =
        args.length > 2
            ? DnsRecordType.valueOf(args[2].toUpperCase(Locale.ROOT))
            : name.startsWith("_") ? DnsRecordType.SRV : DnsRecordType.A;
    int port = args.length > 3 ? Integer.parseInt(args[3]) : 8080;
    int seconds = args.length > 4 ? Integer.parseInt(args[4]) : 60;

    DnsMembershipSource.Builder source =
        DnsMembershipSource.builder(name).record(record).server(args[0]);
    if (record != DnsRecordType.SRV) {
      source.port(port);
    }

    LoadBalancerConfig config =
        LoadBalancerConfig.builder()
            .frontend(Frontend.of("fe", "127.0.0.1"))
            .pool(new BackendPool("web", List.of())) // members come from DNS
            .rule(
                LoadBalancingRule.builder("http")
                    .frontend("fe")
                    .frontendPort(80)
                    .backendPool("web")
                    .backendPort(port)
                    .build())
            .build();
    try (L4LoadBalancer lb = L4LoadBalancer.builder().config(config).build()) {
      lb.addListener(
          new LoadBalancerListener() {
            @Override
            public void onReconfigured(LoadBalancerConfig now) {
              System.out.println(
                  Instant.now()
                      + " pool web: "
                      + now.pool("web").backends().stream().map(Backend::id).toList());
            }
          });
      lb.attach("web", source.build(), DiscoveryOptions.DEFAULT);
      for (int s = 0; s < seconds; s++) {
        Thread.sleep(1000); // a demo's pace, not synchronization
        DiscoveryStatus status = lb.discoveries().get(0);
        StringBuilder flows = new StringBuilder();
        for (int i = 0; i < 4; i++) {
          FlowKey flow = FlowKey.ipv4(0x0A000001 + i, 40000 + s, 0x7F000001, 80, Protocol.TCP);
          Selection sel = lb.select(flow);
          flows.append(" ").append(sel.isSelected() ? sel.backend().id() : sel.status().toString());
          lb.flowClosed(flow);
        }
        System.out.println(
            Instant.now()
                + " "
                + status.state()
                + " members="
                + status.members()
                + (status.lastProblem() == null ? "" : " last problem: " + status.lastProblem())
                + (status.lastGoodAnswer() == null
                    ? ""
                    : " last good answer "
                        + Duration.between(status.lastGoodAnswer(), Instant.now()).toMillis()
                        + " ms ago")
                + " | new flows ->"
                + flows);
      }
    }
  }
}
