package io.lb4j.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.lb4j.AdminState;
import io.lb4j.Backend;
import io.lb4j.BackendHealth;
import io.lb4j.BackendPool;
import io.lb4j.Frontend;
import io.lb4j.HealthEvent;
import io.lb4j.HealthProbe;
import io.lb4j.HealthState;
import io.lb4j.IpLiteral;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancerListener;
import io.lb4j.LoadBalancingRule;
import io.lb4j.OutlierDetection;
import io.lb4j.SelectionAlgorithm;
import io.lb4j.SelectionPolicy;
import io.lb4j.connect.BalancedConnector;
import io.lb4j.core.L4LoadBalancer;
import io.lb4j.testing.FakeClock;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.ConnectException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * pgjdbc through {@link BalancedSocketFactory} against three real PostgreSQL servers on 127.0.0.2,
 * 127.0.0.3 and 127.0.0.4 ({@link PostgresServers}): every connection asks the server that answered
 * ({@code inet_server_addr()}).
 */
class PgjdbcBalancingTest {
  private static final String RULE = "orders";
  private static final String POOL = "pg";
  private static final String[] ADDRESSES = {"127.0.0.2", "127.0.0.3", "127.0.0.4"};

  /** How long a bounded wait for a health event may take. */
  private static final Duration EVENT_TIMEOUT = Duration.ofSeconds(10);

  private static PostgresServers pg;

  private L4LoadBalancer lb;
  private BalancedSocketFactory.Registration registration;
  private String name;
  private final BlockingQueue<HealthEvent> events = new LinkedBlockingQueue<>();

  @BeforeAll
  static void startServers() throws Exception {
    pg = PostgresServers.start(ADDRESSES);
  }

  @AfterAll
  static void stopServers() {
    if (pg != null) {
      pg.close();
    }
  }

  @BeforeEach
  void allServersUp() throws Exception {
    pg.startStopped();
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

  // ---------------------------------------------------------------- spreading

  /**
   * 400 connections without a key over weights 1:2:1: each lease takes a random hash of Maglev's
   * table, so the counts are binomial (σ = 8.7 for a share of 1/4, 10 for 1/2); the bound, 4σ,
   * fails a correct balancer about once in 5000 runs.
   */
  @Test
  void getConnection_weights121_spreadByWeight() throws Exception {
    balance(config(SelectionPolicy.maglev(), null, OutlierDetection.DEFAULT, 1, 2, 1), null);
    int n = 400;
    Map<String, Integer> counts = new TreeMap<>();
    for (int i = 0; i < n; i++) {
      try (Connection c = connect(null)) {
        counts.merge(serverOf(c), 1, Integer::sum);
      }
    }
    assertShare(counts, "127.0.0.2", n / 4, 35);
    assertShare(counts, "127.0.0.3", n / 2, 40);
    assertShare(counts, "127.0.0.4", n / 4, 35);
    for (String id : backendIds()) {
      assertEquals(0, lb.activeFlows(RULE, id), id + ": every lease released on close");
    }
  }

  @Test
  void getConnection_weightedRoundRobin_spreadsExactly() throws Exception {
    balance(
        config(
            SelectionPolicy.of(SelectionAlgorithm.WEIGHTED_ROUND_ROBIN),
            null,
            OutlierDetection.DEFAULT,
            1,
            2,
            1),
        null);
    Map<String, Integer> counts = new TreeMap<>();
    for (int i = 0; i < 40; i++) {
      try (Connection c = connect(null)) {
        counts.merge(serverOf(c), 1, Integer::sum);
      }
    }
    assertEquals(Map.of("127.0.0.2", 10, "127.0.0.3", 20, "127.0.0.4", 10), counts);
  }

  // ---------------------------------------------------------------- a server stops

  /**
   * Before any probe runs, the stopped server refuses: each connection that drew it is retried on
   * another, and passive health ejects it after three refusals in a row, so no getConnection()
   * fails and none lands on it. Time stands still on a fake clock, which is also the control
   * thread: probes (hourly, the first within the hour) never fall due, and the ejection runs when
   * the test runs the due tasks after each connection, so the count of refusals is exact.
   */
  @Test
  void getConnection_serverStoppedBeforeProbeNotices_retriedOnOthersAndEjected() throws Exception {
    FakeClock clock = new FakeClock();
    OutlierDetection threeRefusals =
        new OutlierDetection(3, Duration.ofSeconds(30), Duration.ofSeconds(300), 50);
    HealthProbe hourly =
        probe().toBuilder().interval(Duration.ofHours(1)).timeout(Duration.ofSeconds(1)).build();
    lb =
        L4LoadBalancer.builder()
            .config(config(SelectionPolicy.maglev(), hourly, threeRefusals, 1, 2, 1))
            .ticker(clock)
            .clock(clock)
            .probeScheduler(clock)
            .maintenanceScheduler(clock)
            .build();
    register(BalancedConnector.builder(lb, RULE).build(), null);
    pg.server("127.0.0.3").stop();

    Map<String, Integer> counts = new TreeMap<>();
    for (int i = 0; i < 60; i++) {
      try (Connection c = connect(null)) { // a failure here fails the test
        counts.merge(serverOf(c), 1, Integer::sum);
      }
      clock.runDueTasks(); // the control thread: an ejection the refusals asked for
    }
    assertFalse(counts.containsKey("127.0.0.3"), "a stopped server answered: " + counts);
    BackendHealth stopped = lb.health(RULE, "pg-3");
    assertTrue(stopped.recentResults().isEmpty(), "no probe ran: " + stopped);
    assertTrue(stopped.isEjected(), "three refusals eject it: " + stopped);
    assertFalse(stopped.inRotation(), stopped.toString());
    assertEquals(3, stopped.consecutiveConnectFailures(), stopped.toString());
  }

  /**
   * The real prober (TCP, every 100 ms, unhealthy after 2 failures) takes the stopped server out;
   * from then on connections go to the others without a single refused attempt: passive health is
   * off, and its failure count stays 0.
   */
  @Test
  void getConnection_serverStoppedAndProbeFailed_goesToOthersWithoutRetry() throws Exception {
    balance(config(SelectionPolicy.maglev(), probe(), OutlierDetection.DISABLED, 1, 2, 1), null);
    pg.server("127.0.0.3").stop();
    awaitHealth("pg-3", HealthState.UNHEALTHY);

    Map<String, Integer> counts = new TreeMap<>();
    for (int i = 0; i < 60; i++) {
      try (Connection c = connect(null)) {
        counts.merge(serverOf(c), 1, Integer::sum);
      }
    }
    assertEquals(Map.of("127.0.0.2", true, "127.0.0.4", true), present(counts), counts.toString());
    assertEquals(
        0,
        lb.health(RULE, "pg-3").consecutiveConnectFailures(),
        "no connect was attempted on the unhealthy server");

    pg.startStopped();
    awaitHealth("pg-3", HealthState.HEALTHY);
    Map<String, Integer> back = new TreeMap<>();
    for (int i = 0; i < 60; i++) {
      try (Connection c = connect(null)) {
        back.merge(serverOf(c), 1, Integer::sum);
      }
    }
    assertTrue(back.containsKey("127.0.0.3"), "the restarted server is back in rotation: " + back);
  }

  // ---------------------------------------------------------------- keys

  /**
   * Rendezvous hashing moves only the removed server's keys: connections of every other key keep
   * their server, open ones (leases) stay where they are, and each new connection goes where {@code
   * pickByKey} says.
   */
  @Test
  void keyPinnedConnections_removalOfAnotherServer_stayOnTheirServer() throws Exception {
    balance(config(SelectionPolicy.of(SelectionAlgorithm.RENDEZVOUS), null, null, 1, 1, 1), null);
    Map<String, String> serverOfKey = new LinkedHashMap<>();
    List<Connection> open = new ArrayList<>();
    try {
      for (int i = 0; i < 30; i++) {
        String key = "tenant-" + i;
        Connection c = connect(key);
        open.add(c);
        String server = serverOf(c);
        assertEquals(address(lb.pickByKey(RULE, key).backend()), server, key);
        try (Connection again = connect(key)) {
          assertEquals(server, serverOf(again), key + ": a second connection of the key");
        }
        serverOfKey.put(key, server);
      }
      assertTrue(serverOfKey.containsValue("127.0.0.4"), "some key on the server to remove");
      int leasesOnRemoved = lb.activeFlows(RULE, "pg-4");

      assertTrue(lb.removeBackend(POOL, "pg-4"));

      int moved = 0;
      int k = 0;
      for (Map.Entry<String, String> e : serverOfKey.entrySet()) {
        assertEquals(e.getValue(), serverOf(open.get(k++)), e.getKey() + ": open connection");
        try (Connection c = connect(e.getKey())) {
          String now = serverOf(c);
          assertEquals(address(lb.pickByKey(RULE, e.getKey()).backend()), now, e.getKey());
          if (e.getValue().equals("127.0.0.4")) {
            assertNotEquals("127.0.0.4", now, e.getKey());
            moved++;
          } else {
            assertEquals(e.getValue(), now, e.getKey() + " moved though its server stayed");
          }
        }
      }
      assertTrue(moved > 0);
      assertEquals(
          leasesOnRemoved,
          lb.activeFlows(RULE, "pg-4"),
          "the removed server's open connections keep their leases");
    } finally {
      for (Connection c : open) {
        c.close();
      }
    }
    for (String id : List.of("pg-2", "pg-3", "pg-4")) {
      assertEquals(0, lb.activeFlows(RULE, id), id);
    }
  }

  @Test
  void keyProperty_inTheUrl_isTheConnectionsKey() throws Exception {
    balance(config(SelectionPolicy.maglev(), null, null, 1, 1, 1), null);
    for (int i = 0; i < 10; i++) {
      try (Connection c =
          DriverManager.getConnection(
              url() + "&lb4j.key=t-" + i, PostgresServers.directProperties())) {
        assertEquals(address(lb.pickByKey(RULE, "t-" + i).backend()), serverOf(c), "t-" + i);
      }
    }
  }

  @Test
  void keyProperty_namedAtRegistration_isTheConnectionsKey() throws Exception {
    balance(config(SelectionPolicy.maglev(), null, null, 1, 1, 1), "tenant");
    for (int i = 0; i < 10; i++) {
      Properties p = PostgresServers.directProperties();
      p.setProperty("tenant", "t-" + i);
      try (Connection c = DriverManager.getConnection(url(), p)) {
        assertEquals(address(lb.pickByKey(RULE, "t-" + i).backend()), serverOf(c), "t-" + i);
      }
    }
  }

  // ---------------------------------------------------------------- leases

  @Test
  void connection_whileOpen_countsAsLeaseAndCloseReleasesIt() throws Exception {
    balance(config(SelectionPolicy.maglev(), null, null, 1, 1, 1), null);
    String backend = lb.pickByKey(RULE, "tenant-7").backend().id();
    try (Connection c = connect("tenant-7")) {
      assertEquals(1, lb.activeFlows(RULE, backend));
      try (Connection d = connect("tenant-7")) {
        assertEquals(serverOf(c), serverOf(d));
        assertEquals(2, lb.activeFlows(RULE, backend));
      }
      assertEquals(1, lb.activeFlows(RULE, backend));
    }
    assertEquals(0, lb.activeFlows(RULE, backend));
  }

  /**
   * Disabling a backend ends its leases: the connector closes the socket before {@code
   * setAdminState} returns, and the driver answers the next statement with "This connection has
   * been closed" (08003, connection_does_not_exist).
   */
  @Test
  void connection_backendDisabled_isClosedUnderneath() throws Exception {
    balance(config(SelectionPolicy.maglev(), null, null, 1, 1, 1), null);
    Backend backend = lb.pickByKey(RULE, "tenant-7").backend();
    try (Connection c = connect("tenant-7")) {
      assertEquals(address(backend), serverOf(c));
      lb.setAdminState(POOL, backend.id(), AdminState.DISABLED);
      assertEquals(0, lb.activeFlows(RULE, backend.id()));
      SQLException e = assertThrows(SQLException.class, () -> serverOf(c));
      assertEquals("08003", e.getSQLState(), e.toString());
      assertTrue(c.isClosed());
      try (Connection d = connect("tenant-7")) {
        assertNotEquals(address(backend), serverOf(d), "a new connection goes elsewhere");
      }
    }
  }

  // ---------------------------------------------------------------- the driver's other sockets

  /**
   * A query timeout is a cancel request on a second socket of the connection's factory; it must
   * reach the server running the query, or the query runs on. Round robin without keys: a cancel
   * balanced afresh would go to the next server, every time.
   */
  @Test
  void queryTimeout_cancelRequest_reachesTheServerRunningTheQuery() throws Exception {
    balance(
        config(SelectionPolicy.of(SelectionAlgorithm.WEIGHTED_ROUND_ROBIN), null, null, 1, 1, 1),
        null);
    List<String> servers = new ArrayList<>();
    for (int i = 0; i < ADDRESSES.length; i++) {
      try (Connection c = connect(null);
          Statement st = c.createStatement()) {
        String server = serverOf(c);
        servers.add(server);
        st.setQueryTimeout(1);
        long start = System.nanoTime();
        SQLException e =
            assertThrows(
                SQLException.class,
                () -> st.executeQuery("select pg_sleep(8)"),
                server + ": the cancel went to another server");
        assertEquals("57014", e.getSQLState(), e.toString()); // query_canceled
        assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(6), server);
        assertEquals(server, serverOf(c), "the connection stays usable on its server");
      }
    }
    assertEquals(List.of(ADDRESSES), servers.stream().sorted().toList());
  }

  // ---------------------------------------------------------------- bad input

  @Test
  void getConnection_unknownRegistration_failsNamingIt() throws Exception {
    balance(config(SelectionPolicy.maglev(), null, null, 1, 1, 1), null);
    SQLException e =
        assertThrows(
            SQLException.class,
            () ->
                DriverManager.getConnection(
                    "jdbc:postgresql://orders/postgres?socketFactory="
                        + BalancedSocketFactory.class.getName()
                        + "&socketFactoryArg=no-such-name",
                    PostgresServers.directProperties()));
    assertCauseMessage(e, "socketFactoryArg: 'no-such-name' is not registered");
    assertCauseMessage(e, name);
  }

  @Test
  void getConnection_noArg_failsNamingTheProperty() throws Exception {
    balance(config(SelectionPolicy.maglev(), null, null, 1, 1, 1), null);
    SQLException e =
        assertThrows(
            SQLException.class,
            () ->
                DriverManager.getConnection(
                    "jdbc:postgresql://orders/postgres?socketFactory="
                        + BalancedSocketFactory.class.getName(),
                    PostgresServers.directProperties()));
    assertCauseMessage(e, "socketFactoryArg: null (expected: the name a connector was registered");
  }

  @Test
  void getConnection_everyServerRefuses_failsNamingEachBackendTried() throws Exception {
    int p5 = PostgresServers.freePort(IpLiteral.parse("127.0.0.5"));
    int p6 = PostgresServers.freePort(IpLiteral.parse("127.0.0.6"));
    LoadBalancerConfig refusing =
        LoadBalancerConfig.builder()
            .frontend(Frontend.of("db", "127.0.0.1"))
            .pool(
                BackendPool.of(
                    POOL,
                    Backend.of("gone-5", "127.0.0.5", p5),
                    Backend.of("gone-6", "127.0.0.6", p6)))
            .rule(
                LoadBalancingRule.builder(RULE)
                    .frontend("db")
                    .frontendPort(5432)
                    .backendPool(POOL)
                    .build())
            .build();
    balance(refusing, null);
    SQLException e = assertThrows(SQLException.class, () -> connect(null));
    ConnectException ce = cause(e, ConnectException.class);
    assertTrue(ce.getMessage().startsWith(RULE + ": "), ce.getMessage());
    assertTrue(ce.getMessage().contains("gone-5 127.0.0.5:" + p5), ce.getMessage());
    assertTrue(ce.getMessage().contains("gone-6 127.0.0.6:" + p6), ce.getMessage());
  }

  // ---------------------------------------------------------------- the example

  /**
   * The example's five tenants: Maglev may move a few keys of the servers that stay, but its tables
   * are built from the backend ids and the default seed, so these five keys have the same servers
   * in every run, and none of them moves unless its server is removed.
   */
  @Test
  void jdbcExample_againstTheServers_movesOnlyTheRemovedServersTenants() throws Exception {
    List<String> args = new ArrayList<>();
    for (PostgresServers.Server s : pg.servers()) {
      args.add(s.address() + ":" + s.port());
    }
    PrintStream saved = System.out;
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    System.setOut(new PrintStream(bytes, true, StandardCharsets.UTF_8));
    try {
      JdbcExample.main(args.toArray(new String[0]));
    } finally {
      System.setOut(saved);
    }
    String out = bytes.toString(StandardCharsets.UTF_8);
    saved.print(out);

    String[] parts = out.split("removed ", 2);
    assertEquals(2, parts.length, out);
    Map<String, String> before = tenantLines(parts[0]);
    Map<String, String> after = tenantLines(parts[1]);
    assertEquals(5, before.size(), out);
    assertEquals(before.keySet(), after.keySet(), out);
    String removed = parts[1].substring(0, parts[1].indexOf(' '));
    for (Map.Entry<String, String> e : before.entrySet()) {
      // "127.0.0.3 (pg-1)": the server that answered is the backend the balancer named
      int i = Integer.parseInt(e.getValue().replaceAll(".*\\(pg-(\\d)\\)", "$1"));
      assertTrue(e.getValue().startsWith(ADDRESSES[i] + " "), e.toString());
      if (e.getValue().contains("(" + removed + ")")) {
        assertNotEquals(e.getValue(), after.get(e.getKey()), e.getKey() + " moved: " + out);
      } else {
        assertEquals(e.getValue(), after.get(e.getKey()), e.getKey() + " stayed: " + out);
      }
    }
    assertTrue(out.contains(" has 1 lease(s)"), out);
  }

  /** Returns tenant -> "address (backend)" from the example's " tenant-1 -> ..." lines. */
  private static Map<String, String> tenantLines(String out) {
    Map<String, String> lines = new TreeMap<>();
    Matcher m = Pattern.compile("  (tenant-\\d) -> (\\S+ \\(pg-\\d\\))").matcher(out);
    while (m.find()) {
      lines.put(m.group(1), m.group(2));
    }
    return lines;
  }

  // ---------------------------------------------------------------- the fixture

  @Test
  void postgresServers_stopByPid_portRefusesUntilStartedAgain() throws Exception {
    PostgresServers.Server s = pg.server("127.0.0.4");
    long pid = s.pid();
    s.stop();
    assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "pid " + pid);
    assertThrows(
        SQLException.class,
        () -> DriverManager.getConnection(s.directUrl(), PostgresServers.directProperties()));
    pg.startStopped();
    try (Connection c =
        DriverManager.getConnection(s.directUrl(), PostgresServers.directProperties())) {
      assertEquals("127.0.0.4", serverOf(c));
    }
  }

  // ---------------------------------------------------------------- helpers

  private void balance(LoadBalancerConfig config, String keyProperty) {
    lb = L4LoadBalancer.builder().config(config).build();
    lb.addListener(
        new LoadBalancerListener() {
          @Override
          public void onHealthChange(HealthEvent event) {
            events.add(event);
          }
        });
    register(BalancedConnector.builder(lb, RULE).build(), keyProperty);
  }

  private void register(BalancedConnector connector, String keyProperty) {
    name = "orders-" + System.identityHashCode(this);
    registration =
        keyProperty == null
            ? BalancedSocketFactory.register(name, connector)
            : BalancedSocketFactory.register(name, connector, keyProperty);
  }

  private static HealthProbe probe() {
    return HealthProbe.builder("tcp")
        .interval(Duration.ofMillis(100))
        .timeout(Duration.ofMillis(100))
        .healthyThreshold(1)
        .unhealthyThreshold(2)
        .initialState(HealthState.HEALTHY)
        .build();
  }

  /** Three backends pg-2, pg-3, pg-4 on the servers, with these weights. */
  private static LoadBalancerConfig config(
      SelectionPolicy selection, HealthProbe probe, OutlierDetection outliers, int... weights) {
    List<Backend> backends = new ArrayList<>();
    for (int i = 0; i < ADDRESSES.length; i++) {
      PostgresServers.Server s = pg.server(ADDRESSES[i]);
      backends.add(Backend.of("pg-" + (i + 2), s.address(), s.port()).withWeight(weights[i]));
    }
    LoadBalancingRule.Builder rule =
        LoadBalancingRule.builder(RULE)
            .frontend("db")
            .frontendPort(5432)
            .backendPool(POOL)
            .selection(selection);
    if (outliers != null) {
      rule.outlierDetection(outliers);
    }
    LoadBalancerConfig.Builder config =
        LoadBalancerConfig.builder()
            .frontend(Frontend.of("db", "127.0.0.1"))
            .pool(BackendPool.of(POOL, backends.toArray(new Backend[0])));
    if (probe != null) {
      config.probe(probe);
      rule.probe(probe.name());
    }
    return config.rule(rule.build()).build();
  }

  private String url() {
    return "jdbc:postgresql://orders/postgres?socketFactory="
        + BalancedSocketFactory.class.getName()
        + "&socketFactoryArg="
        + name;
  }

  private Connection connect(String key) throws SQLException {
    Properties p = PostgresServers.directProperties();
    if (key != null) {
      p.setProperty(BalancedSocketFactory.KEY_PROPERTY, key);
    }
    return DriverManager.getConnection(url(), p);
  }

  private static String serverOf(Connection c) throws SQLException {
    try (Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("select host(inet_server_addr())")) {
      rs.next();
      return rs.getString(1);
    }
  }

  private static String address(Backend b) {
    return b.address().getHostAddress();
  }

  private List<String> backendIds() {
    return List.of("pg-2", "pg-3", "pg-4");
  }

  private void awaitHealth(String backend, HealthState state) throws InterruptedException {
    long deadline = System.nanoTime() + EVENT_TIMEOUT.toNanos();
    while (true) {
      long left = deadline - System.nanoTime();
      HealthEvent e = left > 0 ? events.poll(left, TimeUnit.NANOSECONDS) : null;
      if (e == null) {
        fail(
            backend
                + " not "
                + state
                + " within "
                + EVENT_TIMEOUT
                + ": "
                + lb.health(RULE, backend));
      }
      if (e.backendId().equals(backend) && e.to() == state) {
        return;
      }
    }
  }

  private static Map<String, Boolean> present(Map<String, Integer> counts) {
    Map<String, Boolean> out = new HashMap<>();
    counts.forEach((k, v) -> out.put(k, v > 0));
    return out;
  }

  private static void assertShare(Map<String, Integer> counts, String server, int expected, int d) {
    int got = counts.getOrDefault(server, 0);
    assertTrue(
        Math.abs(got - expected) <= d,
        server + ": " + got + " connections (expected: " + expected + " ± " + d + ") " + counts);
  }

  private static void assertCauseMessage(Throwable t, String part) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c.getMessage() != null && c.getMessage().contains(part)) {
        return;
      }
    }
    throw new AssertionError("no cause says '" + part + "'", t);
  }

  private static <T extends Throwable> T cause(Throwable t, Class<T> type) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (type.isInstance(c)) {
        return type.cast(c);
      }
    }
    throw new AssertionError("no " + type.getSimpleName() + " among the causes", t);
  }
}
