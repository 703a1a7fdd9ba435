package io.lb4j.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lb4j.discovery.MembershipSource;
import io.lb4j.discovery.MembershipSourceProvider;
import java.net.InetSocketAddress;
import java.util.HashMap;
import java.util.Map;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Settings of {@code type: xds}: found by ServiceLoader, defaults, and errors that say why. */
class XdsMembershipSourceProviderTest {
  private final XdsMembershipSourceProvider provider = new XdsMembershipSourceProvider();

  private static Map<String, Object> settings(Object... kv) {
    Map<String, Object> m = new HashMap<>();
    for (int i = 0; i < kv.length; i += 2) {
      m.put((String) kv[i], kv[i + 1]);
    }
    return m;
  }

  private String error(Map<String, Object> settings) {
    return assertThrows(IllegalArgumentException.class, () -> provider.create("web", settings))
        .getMessage();
  }

  @Test
  void serviceLoader_findsTypeXds() {
    MembershipSourceProvider found = null;
    for (MembershipSourceProvider p : ServiceLoader.load(MembershipSourceProvider.class)) {
      if (p.type().equals("xds")) {
        found = p;
      }
    }
    assertTrue(found instanceof XdsMembershipSourceProvider, String.valueOf(found));
  }

  @Test
  void create_defaults() {
    XdsMembershipSource s =
        provider.create("web", settings("server", "127.0.0.1:18000", "cluster", "web"));
    assertEquals("xds ads cluster 'web' from 127.0.0.1:18000", s.describe());
    assertEquals(new InetSocketAddress("127.0.0.1", 18000), s.server());
    assertEquals(XdsMembershipSource.Mode.ADS, s.mode());
    assertEquals("lb4j", s.node());
  }

  @Test
  void create_everySetting() {
    MembershipSource s =
        provider.create(
            "web",
            settings(
                "server", "[::1]:18001",
                "cluster", "outbound|80||web.default.svc.cluster.local",
                "node", "edge-1",
                "nodeCluster", "edge",
                "mode", "EDS",
                "backoffInitial", "100ms",
                "backoffMax", "5s"));
    assertEquals(
        "xds eds cluster 'outbound|80||web.default.svc.cluster.local' from [::1]:18001",
        s.describe());
    assertEquals("edge-1", ((XdsMembershipSource) s).node());
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "web.internal:18000",
        "127.0.0.1",
        "::1:18000",
        "127.0.0.1:0",
        "127.0.0.1:65536",
        "127.0.0.1:+80",
        "127.0.0.1:http",
        ":18000"
      })
  void create_badServer_says(String server) {
    String e = error(settings("server", server, "cluster", "web"));
    assertTrue(
        e.startsWith(
            "server: '"
                + server
                + "' (expected: ip:port of the management server, such as 127.0.0.1:18000 or"
                + " [::1]:18000"),
        e);
  }

  @Test
  void create_badSettings_say() {
    assertEquals(
        "server: missing (expected: ip:port of the management server, such as 127.0.0.1:18000 or"
            + " [::1]:18000)",
        error(settings("cluster", "web")));
    assertEquals(
        "server: 18000 (expected: ip:port of the management server, such as 127.0.0.1:18000 or"
            + " [::1]:18000)",
        error(settings("server", 18000, "cluster", "web")));
    assertEquals(
        "cluster: missing (expected: a cluster name)",
        error(settings("server", "127.0.0.1:18000")));
    assertEquals(
        "cluster: '' (expected: a non-empty string)",
        error(settings("server", "127.0.0.1:18000", "cluster", "")));
    assertEquals(
        "mode: 'delta' (expected: ads or eds)",
        error(settings("server", "127.0.0.1:18000", "cluster", "web", "mode", "delta")));
    assertEquals(
        "node: 7 (expected: a non-empty string)",
        error(settings("server", "127.0.0.1:18000", "cluster", "web", "node", 7)));
    assertEquals(
        "backoffInitial: 'soon' (expected: a duration such as 250ms, 5s, 4m, 1h, 1d or PT5S)",
        error(settings("server", "127.0.0.1:18000", "cluster", "web", "backoffInitial", "soon")));
    assertEquals(
        "backoffInitial: '0s' (expected: a positive duration such as 500ms)",
        error(settings("server", "127.0.0.1:18000", "cluster", "web", "backoffInitial", "0s")));
    assertEquals(
        "backoffMax: 30s (expected: at least backoffInitial, 1m)",
        error(settings("server", "127.0.0.1:18000", "cluster", "web", "backoffInitial", "1m")));
    assertEquals(
        "clusterName: 'web' (expected: one of [server, cluster, node, nodeCluster, mode,"
            + " backoffInitial, backoffMax])",
        error(settings("server", "127.0.0.1:18000", "clusterName", "web")));
  }
}
