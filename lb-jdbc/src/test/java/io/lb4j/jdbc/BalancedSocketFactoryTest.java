package io.lb4j.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lb4j.Backend;
import io.lb4j.BackendPool;
import io.lb4j.Frontend;
import io.lb4j.IpLiteral;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancingRule;
import io.lb4j.connect.BalancedConnector;
import io.lb4j.connect.LeasedSocket;
import io.lb4j.core.L4LoadBalancer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The factory without a database: the registry, its errors, and where each socket of a factory
 * goes, against listeners on 127.0.0.2 and 127.0.0.3 (the kernel completes the connects into their
 * backlog; nothing reads).
 */
class BalancedSocketFactoryTest {
  private static final String RULE = "db";

  private final List<ServerSocket> listeners = new ArrayList<>();
  private final List<AutoCloseable> closing = new ArrayList<>();
  private L4LoadBalancer lb;
  private BalancedConnector connector;

  @BeforeEach
  void balancer() throws IOException {
    List<Backend> backends = new ArrayList<>();
    for (String address : new String[] {"127.0.0.2", "127.0.0.3"}) {
      ServerSocket s = new ServerSocket(0, 50, IpLiteral.parse(address));
      listeners.add(s);
      backends.add(Backend.of("db-" + address.substring(8), address, s.getLocalPort()));
    }
    lb =
        L4LoadBalancer.builder()
            .config(
                LoadBalancerConfig.builder()
                    .frontend(Frontend.of("db", "127.0.0.1"))
                    .pool(BackendPool.of("db", backends.toArray(new Backend[0])))
                    .rule(
                        LoadBalancingRule.builder(RULE)
                            .frontend("db")
                            .frontendPort(5432)
                            .backendPool("db")
                            .build())
                    .build())
            .build();
    connector = BalancedConnector.builder(lb, RULE).build();
  }

  @AfterEach
  void close() throws Exception {
    for (AutoCloseable c : closing) {
      c.close();
    }
    lb.close();
    for (ServerSocket s : listeners) {
      s.close();
    }
  }

  private BalancedSocketFactory.Registration register(String name) {
    BalancedSocketFactory.Registration r = BalancedSocketFactory.register(name, connector);
    closing.add(r);
    return r;
  }

  private <T extends AutoCloseable> T closing(T c) {
    closing.add(0, c); // sockets before the registration and the balancer
    return c;
  }

  private static Properties info(String arg, String key) {
    Properties p = new Properties();
    if (arg != null) {
      p.setProperty("socketFactoryArg", arg);
    }
    if (key != null) {
      p.setProperty(BalancedSocketFactory.KEY_PROPERTY, key);
    }
    return p;
  }

  // ---------------------------------------------------------------- the registry

  @Test
  void register_nameTaken_throwsNamingIt() {
    register("orders-taken");
    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () -> BalancedSocketFactory.register("orders-taken", connector));
    assertEquals(
        "name: 'orders-taken' is already registered (expected: a name not registered; unregister"
            + " it first)",
        e.getMessage());
  }

  @Test
  void register_invalidName_throwsWithExpectedForm() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> BalancedSocketFactory.register("has space", connector));
    assertEquals(
        "name: 'has space' (expected: 1-64 characters of A-Z, a-z, 0-9, '.', '_', ':', '-',"
            + " starting with a letter or digit)",
        e.getMessage());
    assertThrows(
        IllegalArgumentException.class, () -> BalancedSocketFactory.register(null, connector));
    IllegalArgumentException k =
        assertThrows(
            IllegalArgumentException.class,
            () -> BalancedSocketFactory.register("orders-k", connector, ""));
    assertTrue(k.getMessage().startsWith("keyProperty: '' (expected: "), k.getMessage());
    assertThrows(NullPointerException.class, () -> BalancedSocketFactory.register("x", null));
  }

  @Test
  void registration_close_unregistersOnlyItself() {
    BalancedSocketFactory.Registration old = BalancedSocketFactory.register("orders-re", connector);
    old.close();
    BalancedSocketFactory.Registration now = register("orders-re");
    old.close(); // a stale registration leaves the new one alone
    assertSame(connector, new BalancedSocketFactory("orders-re").connector());
    assertTrue(BalancedSocketFactory.unregister("orders-re"));
    assertFalse(BalancedSocketFactory.unregister("orders-re"));
    assertEquals("orders-re", now.name());
  }

  @Test
  void new_withoutArg_throwsNamingThePropertyAndTheRegisteredNames() {
    register("orders-a");
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> new BalancedSocketFactory(info(null, null)));
    assertTrue(
        e.getMessage()
            .startsWith(
                "socketFactoryArg: null (expected: the name a connector was registered under with"
                    + " BalancedSocketFactory.register, one of ["),
        e.getMessage());
    assertTrue(e.getMessage().contains("orders-a"), e.getMessage());
  }

  @Test
  void new_unknownName_throwsNamingItAndTheRegisteredNames() {
    register("orders-b");
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> new BalancedSocketFactory(info("orderz", null)));
    assertTrue(
        e.getMessage().startsWith("socketFactoryArg: 'orderz' is not registered (expected: "),
        e.getMessage());
    assertTrue(e.getMessage().contains("orders-b"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> new BalancedSocketFactory((String) null));
  }

  @Test
  void new_emptyKey_throwsNamingTheProperty() {
    register("orders-c");
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> new BalancedSocketFactory(info("orders-c", "")));
    assertEquals(
        "lb4j.key: '' (expected: a non-empty key, or no lb4j.key property for a connection without"
            + " a key)",
        e.getMessage());
  }

  // ---------------------------------------------------------------- sockets

  @Test
  void createSocket_connect_ignoresTheAddressAndHoldsALease() throws IOException {
    register("orders-d");
    BalancedSocketFactory f = new BalancedSocketFactory(info("orders-d", null));
    Socket s = closing(f.createSocket());
    assertFalse(s.isConnected());
    s.setTcpNoDelay(true); // as pgjdbc sets options before connecting
    s.connect(InetSocketAddress.createUnresolved("orders", 5432), 1000);
    LeasedSocket leased = assertInstanceOf(LeasedSocket.class, s);
    String backend = leased.lease().backend().id();
    assertEquals(leased.lease().target(), s.getRemoteSocketAddress());
    assertTrue(s.getTcpNoDelay());
    assertEquals(1, lb.activeFlows(RULE, backend));
    s.close();
    assertEquals(0, lb.activeFlows(RULE, backend));
  }

  @Test
  void createSocket_withKey_goesToTheKeysBackend() throws IOException {
    register("orders-e");
    for (int i = 0; i < 20; i++) {
      String key = "tenant-" + i;
      BalancedSocketFactory f = new BalancedSocketFactory(info("orders-e", key));
      assertEquals(key, f.key());
      try (Socket s = f.createSocket()) {
        s.connect(null, 0);
        assertEquals(lb.pickByKey(RULE, key).target(), s.getRemoteSocketAddress(), key);
      }
    }
  }

  /** pgjdbc's cancel request: a second socket while the first is open, to the same server. */
  @Test
  void createSocket_whileTheFirstIsOpen_connectsToItsServerUnleased() throws IOException {
    register("orders-f");
    for (int i = 0; i < 10; i++) {
      BalancedSocketFactory f = new BalancedSocketFactory(info("orders-f", null));
      Socket first = closing(f.createSocket());
      first.connect(null, 0);
      String backend = ((LeasedSocket) first).lease().backend().id();
      try (Socket cancel = f.createSocket()) {
        assertFalse(cancel instanceof LeasedSocket);
        cancel.connect(InetSocketAddress.createUnresolved("orders", 5432), 1000);
        assertEquals(first.getRemoteSocketAddress(), cancel.getRemoteSocketAddress());
        assertEquals(1, lb.activeFlows(RULE, backend), "a cancel request is no lease");
      }
      first.close();
    }
  }

  /** pgjdbc's reconnect after SSL/GSS negotiation: balanced again with the first one's hash. */
  @Test
  void createSocket_afterTheFirstClosed_balancesAgainByItsHash() throws IOException {
    register("orders-g");
    BalancedSocketFactory f = new BalancedSocketFactory(info("orders-g", "tenant-3"));
    Socket first = f.createSocket();
    first.connect(null, 0);
    InetSocketAddress target = ((LeasedSocket) first).lease().target();
    first.close();
    LeasedSocket again = assertInstanceOf(LeasedSocket.class, closing(f.createSocket()));
    again.connect(null, 0);
    assertEquals(target, again.getRemoteSocketAddress());
    assertEquals(lb.keyHash("tenant-3"), again.lease().hash());
    assertEquals(1, lb.activeFlows(RULE, again.lease().backend().id()));
  }

  @Test
  void createSocket_firstNeverConnected_nextIsBalancedAfresh() throws IOException {
    register("orders-h");
    BalancedSocketFactory f = new BalancedSocketFactory(info("orders-h", null));
    Socket unused = f.createSocket();
    unused.close();
    LeasedSocket next = assertInstanceOf(LeasedSocket.class, closing(f.createSocket()));
    assertNull(next.lease());
    next.connect(null, 0);
    assertNotNull(next.lease());
  }

  @Test
  void createSocketHostPort_connectsBalancedIgnoringHostAndPort() throws IOException {
    register("orders-i");
    BalancedSocketFactory f = new BalancedSocketFactory(info("orders-i", "tenant-1"));
    Socket s = closing(f.createSocket("elsewhere.invalid", 1));
    assertTrue(s.isConnected());
    assertEquals(lb.pickByKey(RULE, "tenant-1").target(), s.getRemoteSocketAddress());
    Socket t =
        closing(
            new BalancedSocketFactory("orders-i")
                .createSocket(InetAddress.getLoopbackAddress(), 9));
    assertInstanceOf(LeasedSocket.class, t);
    assertTrue(t.isConnected());
    Socket u = closing(new BalancedSocketFactory("orders-i").createSocket("x", 9, null, 0));
    assertTrue(u.isConnected());
  }

  @Test
  void createSocketWithLocalAddress_refusedNamingIt() {
    register("orders-j");
    BalancedSocketFactory f = new BalancedSocketFactory("orders-j");
    SocketException e =
        assertThrows(
            SocketException.class,
            () -> f.createSocket("orders", 5432, IpLiteral.parse("127.0.0.1"), 40000));
    assertEquals(
        "localAddress: 127.0.0.1, localPort: 40000 (expected: null and 0; a balanced socket is"
            + " bound by its connector, see BalancedConnector.Builder.bindLocalAddress)",
        e.getMessage());
    assertThrows(
        SocketException.class,
        () -> f.createSocket(InetAddress.getLoopbackAddress(), 5432, null, 40000));
    for (String id : List.of("db-2", "db-3")) {
      assertEquals(0, lb.activeFlows(RULE, id), "nothing leased");
    }
  }

  @Test
  void toString_namesRegistrationAndKey() {
    register("orders-k");
    assertEquals(
        "BalancedSocketFactory(orders-k, lb4j.key=t-1)",
        new BalancedSocketFactory(info("orders-k", "t-1")).toString());
    assertEquals(
        "BalancedSocketFactory(orders-k)", new BalancedSocketFactory("orders-k").toString());
  }
}
