package io.lb4j.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lb4j.Backend;
import io.lb4j.BackendPool;
import io.lb4j.Frontend;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancingRule;
import io.lb4j.SelectionAlgorithm;
import io.lb4j.SelectionPolicy;
import io.lb4j.connect.BalancedConnector;
import io.lb4j.core.L4LoadBalancer;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLTimeoutException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * MySQL Connector/J through {@link BalancedMysqlSocketFactory} against three real MariaDB servers
 * on 127.0.0.2, 127.0.0.3 and 127.0.0.4 ({@link MariaDbServers}): every connection asks the server
 * that answered ({@code @@bind_address}).
 */
class ConnectorJBalancingTest {
  private static final String POOL = "db";
  private static final String[] ADDRESSES = {"127.0.0.2", "127.0.0.3", "127.0.0.4"};

  private static MariaDbServers servers;

  private L4LoadBalancer lb;
  private BalancedSocketFactory.Registration registration;
  private String rule;

  @BeforeAll
  static void startServers() throws Exception {
    servers = MariaDbServers.start(ADDRESSES);
  }

  @AfterAll
  static void stopServers() {
    if (servers != null) {
      servers.close();
    }
  }

  @BeforeEach
  void allServersUp() throws Exception {
    servers.startStopped();
  }

  @AfterEach
  void close() {
    if (registration != null) {
      registration.close();
    }
    if (lb != null) {
      lb.close();
    }
  }

  @Test
  void getConnection_withKey_goesToTheKeysServer() throws Exception {
    balance(SelectionPolicy.maglev(), 1, 1, 1);
    for (int i = 0; i < 10; i++) {
      String key = "tenant-" + i;
      try (Connection c = connect(key)) {
        assertEquals(address(lb.pickByKey(rule, key).backend()), serverOf(c), key);
      }
      try (Connection c =
          DriverManager.getConnection(
              url() + "&lb4j.key=" + key, MariaDbServers.directProperties())) {
        assertEquals(address(lb.pickByKey(rule, key).backend()), serverOf(c), key + " in the URL");
      }
    }
  }

  @Test
  void getConnection_weightedRoundRobin_spreadsByWeight() throws Exception {
    balance(SelectionPolicy.of(SelectionAlgorithm.WEIGHTED_ROUND_ROBIN), 1, 2, 1);
    Map<String, Integer> counts = new TreeMap<>();
    for (int i = 0; i < 40; i++) {
      try (Connection c = connect(null)) {
        counts.merge(serverOf(c), 1, Integer::sum);
      }
    }
    assertEquals(Map.of("127.0.0.2", 10, "127.0.0.3", 20, "127.0.0.4", 10), counts);
  }

  /**
   * Two open connections with the same properties are two leases, not a connection and its cancel.
   */
  @Test
  void connection_whileOpen_countsAsLeaseAndCloseReleasesIt() throws Exception {
    balance(SelectionPolicy.maglev(), 1, 1, 1);
    String backend = lb.pickByKey(rule, "tenant-7").backend().id();
    try (Connection c = connect("tenant-7")) {
      assertEquals(1, lb.activeFlows(rule, backend));
      try (Connection d = connect("tenant-7")) {
        assertEquals(serverOf(c), serverOf(d));
        assertEquals(2, lb.activeFlows(rule, backend));
      }
      assertEquals(1, lb.activeFlows(rule, backend));
    }
    assertEquals(0, lb.activeFlows(rule, backend));
  }

  /** The stopped server refuses; each connection that drew it is retried on another. */
  @Test
  void getConnection_serverStopped_retriedOnOthers() throws Exception {
    balance(SelectionPolicy.maglev(), 1, 2, 1);
    servers.server("127.0.0.3").stop();
    Map<String, Integer> counts = new TreeMap<>();
    for (int i = 0; i < 30; i++) {
      try (Connection c = connect(null)) { // a failure here fails the test
        counts.merge(serverOf(c), 1, Integer::sum);
      }
    }
    assertFalse(counts.containsKey("127.0.0.3"), counts.toString());
    assertTrue(lb.health(rule, "db-3").consecutiveConnectFailures() > 0, "refusals reported");
  }

  /**
   * A query timeout opens a second connection that sends {@code KILL QUERY <thread id>}; it must
   * reach the server running the query. Round robin without keys: balanced afresh, it would go to
   * the next server every time, and the query would run its 8 s.
   */
  @Test
  void queryTimeout_killQuery_reachesTheServerRunningTheQuery() throws Exception {
    balance(SelectionPolicy.of(SelectionAlgorithm.WEIGHTED_ROUND_ROBIN), 1, 1, 1);
    List<String> seen = new ArrayList<>();
    for (int i = 0; i < ADDRESSES.length; i++) {
      try (Connection c = connect(null);
          Statement st = c.createStatement()) {
        String server = serverOf(c);
        seen.add(server);
        st.setQueryTimeout(1);
        long start = System.nanoTime();
        assertThrows(SQLTimeoutException.class, () -> st.executeQuery("select sleep(8)"), server);
        long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertTrue(tookMillis < 6000, server + ": the query ran " + tookMillis + " ms");
        assertEquals(server, serverOf(c), "the connection stays usable on its server");
      }
    }
    assertEquals(List.of(ADDRESSES), seen.stream().sorted().toList());
  }

  @Test
  void getConnection_unregisteredHost_failsNamingIt() throws Exception {
    balance(SelectionPolicy.maglev(), 1, 1, 1);
    SQLException e =
        assertThrows(
            SQLException.class,
            () ->
                DriverManager.getConnection(
                    "jdbc:mysql://orderz/mysql?socketFactory="
                        + BalancedMysqlSocketFactory.class.getName(),
                    MariaDbServers.directProperties()));
    assertCauseMessage(e, "host: 'orderz' is not registered (expected: the name a connector");
    assertCauseMessage(e, rule);
  }

  @Test
  void getConnection_localSocketAddress_refused() throws Exception {
    balance(SelectionPolicy.maglev(), 1, 1, 1);
    SQLException e =
        assertThrows(
            SQLException.class,
            () ->
                DriverManager.getConnection(url() + "&localSocketAddress=127.0.0.1", props(null)));
    assertCauseMessage(e, "localSocketAddress: 127.0.0.1 (expected: none;");
    for (String id : List.of("db-2", "db-3", "db-4")) {
      assertEquals(0, lb.activeFlows(rule, id), id);
    }
  }

  // ---------------------------------------------------------------- helpers

  private void balance(SelectionPolicy selection, int... weights) {
    rule = "mysql-" + System.identityHashCode(this);
    List<Backend> backends = new ArrayList<>();
    for (int i = 0; i < ADDRESSES.length; i++) {
      MariaDbServers.Server s = servers.server(ADDRESSES[i]);
      backends.add(Backend.of("db-" + (i + 2), s.address(), s.port()).withWeight(weights[i]));
    }
    lb =
        L4LoadBalancer.builder()
            .config(
                LoadBalancerConfig.builder()
                    .frontend(Frontend.of("db", "127.0.0.1"))
                    .pool(BackendPool.of(POOL, backends.toArray(new Backend[0])))
                    .rule(
                        LoadBalancingRule.builder(rule)
                            .frontend("db")
                            .frontendPort(3306)
                            .backendPool(POOL)
                            .selection(selection)
                            .build())
                    .build())
            .build();
    registration =
        BalancedSocketFactory.register(rule, BalancedConnector.builder(lb, rule).build());
  }

  /** The URL: the host is the registration's name. */
  private String url() {
    return "jdbc:mysql://"
        + rule
        + "/mysql?socketFactory="
        + BalancedMysqlSocketFactory.class.getName();
  }

  private static Properties props(String key) {
    Properties p = MariaDbServers.directProperties();
    if (key != null) {
      p.setProperty(BalancedSocketFactory.KEY_PROPERTY, key);
    }
    return p;
  }

  private Connection connect(String key) throws SQLException {
    return DriverManager.getConnection(url(), props(key));
  }

  private static String serverOf(Connection c) throws SQLException {
    try (Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("select @@bind_address")) {
      rs.next();
      return rs.getString(1);
    }
  }

  private static String address(Backend b) {
    return b.address().getHostAddress();
  }

  private static void assertCauseMessage(Throwable t, String part) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c.getMessage() != null && c.getMessage().contains(part)) {
        return;
      }
    }
    throw new AssertionError("no cause says '" + part + "'", t);
  }
}
