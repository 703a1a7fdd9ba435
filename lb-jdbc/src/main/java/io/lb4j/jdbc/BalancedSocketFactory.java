package io.lb4j.jdbc;

import io.lb4j.connect.BalancedConnector;
import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketException;
import java.util.Objects;
import java.util.Properties;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.regex.Pattern;
import javax.net.SocketFactory;

/**
 * A {@link SocketFactory} that balances every connection a socket-based JDBC driver opens: the
 * driver names this class and a registered {@link BalancedConnector}, and each new database
 * connection goes to the backend the connector's rule chooses, is retried on another backend when
 * one refuses or times out, and holds a {@link io.lb4j.Lease} for its life.
 *
 * <pre>{@code
 * L4LoadBalancer lb = L4LoadBalancer.builder().config(config).build();
 * BalancedSocketFactory.register("orders", BalancedConnector.builder(lb, "orders").build());
 *
 * Connection c = DriverManager.getConnection(
 *     "jdbc:postgresql://orders/app?user=app"
 *         + "&socketFactory=io.lb4j.jdbc.BalancedSocketFactory&socketFactoryArg=orders");
 * }</pre>
 *
 * <h2>How a driver finds its connector</h2>
 *
 * <p>The driver instantiates this class by name. PostgreSQL's pgjdbc ({@code ObjectFactory}) calls
 * the {@linkplain #BalancedSocketFactory(Properties) constructor taking the connection's
 * properties} once per connection; its {@code socketFactoryArg} is the name the application gave
 * {@link #register}. A driver that passes only that argument uses the {@linkplain
 * #BalancedSocketFactory(String) constructor taking a string}. The registry is global to the class
 * loader that loaded this class, as {@link java.sql.DriverManager}'s drivers are. MySQL Connector/J
 * takes its own interface instead: {@link BalancedMysqlSocketFactory} finds the same registrations
 * by the URL's host.
 *
 * <h2>The host in the URL is ignored</h2>
 *
 * <p>The connector's rule chooses the server: the host and port the driver passes to {@link
 * Socket#connect(java.net.SocketAddress, int)} are ignored. Write the rule's name (or any
 * placeholder) as the URL's host; pgjdbc still resolves that name before connecting (a DNS lookup
 * the JVM caches), and takes one host: with several, it would try the next one only after every
 * attempt of the connector failed, and balance again.
 *
 * <h2>Keys</h2>
 *
 * <p>A connection whose properties hold the registration's key property ({@value #KEY_PROPERTY}
 * unless {@link #register(String, BalancedConnector, String) another name} was given) is balanced
 * by that key ({@link BalancedConnector#unconnectedSocket(CharSequence)}): with a hashing algorithm
 * (Maglev, ring, rendezvous, jump) every connection of one key goes to the key's server while it is
 * healthy, as {@code lb.pickByKey(rule, key)} answers. Without the property the rule's scheduler
 * picks, or, for a hashing algorithm, a random hash, which spreads connections by weight.
 *
 * <h2>The driver's other sockets</h2>
 *
 * <p>pgjdbc makes one factory per connection and opens every socket of that connection through it.
 * The first socket is the balanced, leased connection. A socket opened while it is open is a cancel
 * request ({@code Statement.cancel()}, {@code setQueryTimeout}), which must reach the server that
 * runs the query: it connects to that server, directly, unleased and unretried. A socket opened
 * after the first one closed replaces it (pgjdbc's reconnect when SSL or GSS negotiation fails): it
 * is balanced again with the first one's hash, so a hashing rule sends it to the same server.
 *
 * <h2>{@code createSocket(host, port)}</h2>
 *
 * <p>The overloads that return a connected socket balance it as {@link #createSocket()} and {@code
 * connect} would, ignoring the host and port, with the connector's connect timeout. The ones that
 * also take a local address refuse one: a balanced socket is bound by its connector ({@code
 * BalancedConnector.Builder.bindLocalAddress}), so pgjdbc's {@code localSocketAddress} is refused
 * too.
 *
 * <p>Thread-safe: the registry and each factory.
 */
public final class BalancedSocketFactory extends SocketFactory {

  /** The connection property that carries a connection's key, unless the registration names one. */
  public static final String KEY_PROPERTY = "lb4j.key";

  /** The connection property pgjdbc passes the registration name in. */
  public static final String ARG_PROPERTY = "socketFactoryArg";

  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._:-]{0,63}");

  private static final String NAME_EXPECTED =
      "1-64 characters of A-Z, a-z, 0-9, '.', '_', ':', '-', starting with a letter or digit";

  private static final ConcurrentMap<String, Registration> REGISTRY = new ConcurrentHashMap<>();

  private final Registration registration;
  private final String key;
  private final ConnectionSockets sockets;

  /**
   * Creates the factory of one connection from the driver's connection properties, as pgjdbc does:
   * {@value #ARG_PROPERTY} names the registration, the registration's key property (if present) is
   * the connection's key.
   *
   * @param info the driver's connection properties
   * @throws IllegalArgumentException if {@value #ARG_PROPERTY} is missing or names no registration,
   *     or the key property is present but empty
   */
  public BalancedSocketFactory(Properties info) {
    Objects.requireNonNull(info, "info");
    this.registration = lookup(ARG_PROPERTY, info.getProperty(ARG_PROPERTY));
    String k = info.getProperty(registration.keyProperty());
    if (k != null && k.isEmpty()) {
      throw new IllegalArgumentException(
          registration.keyProperty()
              + ": '' (expected: a non-empty key, or no "
              + registration.keyProperty()
              + " property for a connection without a key)");
    }
    this.key = k;
    this.sockets = new ConnectionSockets(registration.connector(), k);
  }

  /**
   * Creates a factory for the connector registered as {@code name}, without a key: for drivers that
   * pass only the factory argument.
   *
   * @param name a registered name
   * @throws IllegalArgumentException if {@code name} is null or names no registration
   */
  public BalancedSocketFactory(String name) {
    this.registration = lookup(ARG_PROPERTY, name);
    this.key = null;
    this.sockets = new ConnectionSockets(registration.connector(), null);
  }

  /**
   * Registers {@code connector} as {@code name}, with the connection property {@value
   * #KEY_PROPERTY} carrying a connection's key. Close the returned registration (or call {@link
   * #unregister}) when the connector's balancer closes.
   *
   * @param name the registration's name, as the JDBC URL gives it
   * @param connector the connector that chooses and connects
   * @return the registration; closing it unregisters
   * @throws IllegalArgumentException if {@code name} is not a valid name
   * @throws IllegalStateException if {@code name} is already registered
   */
  public static Registration register(String name, BalancedConnector connector) {
    return register(name, connector, KEY_PROPERTY);
  }

  /**
   * Registers {@code connector} as {@code name}, with the connection property {@code keyProperty}
   * carrying a connection's key.
   *
   * @param name the registration's name, as the JDBC URL gives it
   * @param connector the connector that chooses and connects
   * @param keyProperty the connection property that carries a connection's key
   * @return the registration; closing it unregisters
   * @throws IllegalArgumentException if {@code name} or {@code keyProperty} is not a valid name
   * @throws IllegalStateException if {@code name} is already registered
   */
  public static Registration register(
      String name, BalancedConnector connector, String keyProperty) {
    checkName("name", name);
    Objects.requireNonNull(connector, "connector");
    checkName("keyProperty", keyProperty);
    Registration r = new Registration(name, connector, keyProperty);
    Registration before = REGISTRY.putIfAbsent(name, r);
    if (before != null) {
      throw new IllegalStateException(
          "name: '"
              + name
              + "' is already registered (expected: a name not registered; unregister it first)");
    }
    return r;
  }

  /**
   * Removes the registration {@code name}; returns whether there was one.
   *
   * @param name a registration's name
   * @return true if there was a registration of that name
   */
  public static boolean unregister(String name) {
    return name != null && REGISTRY.remove(name) != null;
  }

  /** {@return the connector this factory's connections go through} */
  public BalancedConnector connector() {
    return registration.connector();
  }

  /** {@return the key of this factory's connection, or null when it has none} */
  public String key() {
    return key;
  }

  /**
   * Returns an unconnected socket. The first is the connection's balanced socket: its {@code
   * connect(address, timeout)} ignores the address, connects to the backend the connector's rule
   * chooses (by the key, when there is one), retries on another backend when that one refuses or
   * times out, the timeout (when above 0) capping each attempt, and holds a lease until it is
   * closed. Later ones are the driver's cancel requests and reconnects (see the class
   * documentation).
   */
  @Override
  public Socket createSocket() {
    return sockets.next();
  }

  /**
   * Returns a balanced connected socket: {@link #createSocket()} connected with the connector's
   * connect timeout; {@code host} and {@code port} are ignored.
   */
  @Override
  public Socket createSocket(String host, int port) throws IOException {
    return connect(createSocket());
  }

  /**
   * Returns a balanced connected socket as {@link #createSocket(String, int)} when {@code
   * localHost} is null and {@code localPort} 0; refuses any other local address, since a balanced
   * socket is bound by its connector ({@code BalancedConnector.Builder.bindLocalAddress}).
   *
   * @throws SocketException if a local address or port is given
   */
  @Override
  public Socket createSocket(String host, int port, InetAddress localHost, int localPort)
      throws IOException {
    checkNoLocalAddress(localHost, localPort);
    return createSocket(host, port);
  }

  /**
   * Returns a balanced connected socket; {@code host} and {@code port} are ignored, as in {@link
   * #createSocket(String, int)}.
   */
  @Override
  public Socket createSocket(InetAddress host, int port) throws IOException {
    return connect(createSocket());
  }

  /**
   * Returns a balanced connected socket as {@link #createSocket(String, int, InetAddress, int)}.
   *
   * @throws SocketException if a local address or port is given
   */
  @Override
  public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort)
      throws IOException {
    checkNoLocalAddress(localAddress, localPort);
    return connect(createSocket());
  }

  private static void checkNoLocalAddress(InetAddress localAddress, int localPort)
      throws SocketException {
    if (localAddress != null || localPort != 0) {
      throw new SocketException(
          "localAddress: "
              + (localAddress == null ? "null" : localAddress.getHostAddress())
              + ", localPort: "
              + localPort
              + " (expected: null and 0; a balanced socket is bound by its connector, see"
              + " BalancedConnector.Builder.bindLocalAddress)");
    }
  }

  private static Socket connect(Socket s) throws IOException {
    try {
      s.connect(null, 0); // the address is ignored: the rule chooses
      return s;
    } catch (IOException | RuntimeException e) {
      s.close();
      throw e;
    }
  }

  @Override
  public String toString() {
    return "BalancedSocketFactory("
        + registration.name()
        + (key == null ? "" : ", " + registration.keyProperty() + "=" + key)
        + ")";
  }

  /**
   * Returns the registration {@code name}, which the driver gave as {@code field}.
   *
   * @throws IllegalArgumentException if {@code name} is null or not registered
   */
  static Registration lookup(String field, String name) {
    Registration r = name == null ? null : REGISTRY.get(name);
    if (r == null) {
      throw new IllegalArgumentException(
          field
              + (name == null ? ": null" : ": '" + name + "' is not registered")
              + " (expected: the name a connector was registered under with"
              + " BalancedSocketFactory.register, one of "
              + new TreeSet<>(REGISTRY.keySet())
              + ")");
    }
    return r;
  }

  private static void checkName(String field, String value) {
    if (value == null || !NAME.matcher(value).matches()) {
      throw new IllegalArgumentException(
          field
              + ": "
              + (value == null ? "null" : "'" + value + "'")
              + " (expected: "
              + NAME_EXPECTED
              + ")");
    }
  }

  /**
   * A connector registered under a name: close it to unregister.
   *
   * <p>Immutable and thread-safe.
   */
  public static final class Registration implements AutoCloseable {
    private final String name;
    private final BalancedConnector connector;
    private final String keyProperty;

    private Registration(String name, BalancedConnector connector, String keyProperty) {
      this.name = name;
      this.connector = connector;
      this.keyProperty = keyProperty;
    }

    /**
     * Returns the name: pgjdbc's {@value BalancedSocketFactory#ARG_PROPERTY}, the URL's host for
     * {@link BalancedMysqlSocketFactory}.
     *
     * @return the name
     */
    public String name() {
      return name;
    }

    /** {@return the connector registered under the name} */
    public BalancedConnector connector() {
      return connector;
    }

    /** {@return the connection property that carries a connection's key} */
    public String keyProperty() {
      return keyProperty;
    }

    /** Removes this registration, if it is still the one under its name. */
    @Override
    public void close() {
      REGISTRY.remove(name, this);
    }

    @Override
    public String toString() {
      return "Registration(" + name + ", keyProperty=" + keyProperty + ")";
    }
  }
}
