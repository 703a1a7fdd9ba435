package io.lb4j.jdbc;

import com.mysql.cj.conf.PropertyKey;
import com.mysql.cj.conf.PropertySet;
import com.mysql.cj.conf.RuntimeProperty;
import com.mysql.cj.protocol.StandardSocketFactory;
import java.io.Closeable;
import java.io.IOException;
import java.net.Socket;
import java.util.Collections;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * The MySQL Connector/J counterpart of {@link BalancedSocketFactory}: Connector/J's {@code
 * socketFactory} takes its own interface ({@code com.mysql.cj.protocol.SocketFactory}), not a
 * {@code javax.net.SocketFactory}. Each new connection goes to the backend the registered
 * connector's rule chooses, is retried on another backend when one refuses or times out, and holds
 * a lease for its life.
 *
 * <pre>{@code
 * BalancedSocketFactory.register("orders", BalancedConnector.builder(lb, "orders").build());
 * Connection c = DriverManager.getConnection(
 *     "jdbc:mysql://orders/app?socketFactory=io.lb4j.jdbc.BalancedMysqlSocketFactory", props);
 * }</pre>
 *
 * <p><b>The URL's host names the registration</b> ({@link BalancedSocketFactory#register}); its
 * port is ignored, and the host is never resolved. The connection's key is the registration's key
 * property ({@value BalancedSocketFactory#KEY_PROPERTY} unless it names another), in the
 * connection's properties or the URL.
 *
 * <p>Connector/J creates one factory per socket, with no arguments. The sockets of one connection
 * are told apart by the connection's property set, which its cancel connection shares: a query
 * timeout or {@code Statement.cancel()} opens a second connection that sends {@code KILL QUERY
 * <thread id>}, and that connection goes to the server running the query — balanced afresh it would
 * kill whatever query has that thread id on another server. A socket opened after the connection's
 * socket closed (a reconnect) is balanced again by the same hash.
 *
 * <p>TLS, timeouts and socket options are Connector/J's own ({@link StandardSocketFactory}): the
 * options are set on the balanced socket before it connects and kept for every attempt; {@code
 * connectTimeout}, when above 0, caps each attempt. {@code localSocketAddress} is refused, as in
 * {@link BalancedSocketFactory}.
 *
 * <p>Needs {@code com.mysql:mysql-connector-j} on the class path, an optional dependency of lb-jdbc
 * (tested: 9.5.0 against MariaDB 10.11). Not thread-safe, as Connector/J uses a socket factory: one
 * connect per instance.
 */
public final class BalancedMysqlSocketFactory extends StandardSocketFactory {

  /**
   * The sockets of each connection, by the connection's property set, weakly: Connector/J's
   * property sets do not override {@code equals}, so each connection has its own entry.
   */
  private static final Map<PropertySet, ConnectionSockets> CONNECTIONS =
      Collections.synchronizedMap(new WeakHashMap<>());

  /** Connector/J creates the factory by class name, with no arguments. */
  public BalancedMysqlSocketFactory() {}

  /**
   * Connects the socket of a connection (or of its cancel request, or a reconnect) through the
   * connector registered as {@code host}; {@code port} is ignored.
   *
   * @throws IllegalArgumentException if {@code host} names no registration, or the key property is
   *     present but empty
   * @throws java.net.ConnectException if no backend could be leased or every attempt failed
   */
  @Override
  public <T extends Closeable> T connect(String host, int port, PropertySet props, int loginTimeout)
      throws IOException {
    this.loginTimeoutCountdown = loginTimeout;
    this.host = host;
    this.port = port;
    if (props.getStringProperty(PropertyKey.localSocketAddress).getValue() != null) {
      throw new java.net.SocketException(
          "localSocketAddress: "
              + props.getStringProperty(PropertyKey.localSocketAddress).getValue()
              + " (expected: none; a balanced socket is bound by its connector, see"
              + " BalancedConnector.Builder.bindLocalAddress)");
    }
    ConnectionSockets sockets;
    synchronized (CONNECTIONS) {
      sockets = CONNECTIONS.get(props);
      if (sockets == null) {
        BalancedSocketFactory.Registration r = BalancedSocketFactory.lookup("host", host);
        sockets = new ConnectionSockets(r.connector(), key(props, r.keyProperty()));
        CONNECTIONS.put(props, sockets);
      }
    }
    Socket s = sockets.next();
    try {
      configureSocket(s, props);
      int connectTimeout = props.getIntegerProperty(PropertyKey.connectTimeout).getValue();
      s.connect(null, getRealTimeout(connectTimeout));
      resetLoginTimeCountdown();
    } catch (IOException | RuntimeException e) {
      s.close();
      throw e;
    }
    this.rawSocket = s;
    this.sslSocket = s;
    @SuppressWarnings("unchecked")
    T socket = (T) s;
    return socket;
  }

  private static String key(PropertySet props, String keyProperty) {
    RuntimeProperty<?> p = props.getProperty(keyProperty); // user-defined properties are kept
    Object value = p == null ? null : p.getValue();
    if (value != null && value.toString().isEmpty()) {
      throw new IllegalArgumentException(
          keyProperty
              + ": '' (expected: a non-empty key, or no "
              + keyProperty
              + " property for a connection without a key)");
    }
    return value == null ? null : value.toString();
  }
}
