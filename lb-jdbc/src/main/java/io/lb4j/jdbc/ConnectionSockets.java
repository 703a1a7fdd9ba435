package io.lb4j.jdbc;

import io.lb4j.Lease;
import io.lb4j.connect.BalancedConnector;
import io.lb4j.connect.LeasedSocket;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketAddress;

/**
 * The sockets of one database connection, as a driver asks for them:
 *
 * <ol>
 *   <li>the first is the connection's balanced socket ({@link LeasedSocket}): by the key when there
 *       is one, retried on another backend, leased until closed;
 *   <li>one asked for while the first is open is a cancel request (pgjdbc's cancel, Connector/J's
 *       {@code KILL QUERY}), which must reach the server running the query: it connects to the
 *       first one's backend, once, unleased;
 *   <li>one asked for after the first closed replaces it (a reconnect): balanced again with the
 *       first one's hash, so a hashing rule sends it to the same server; it becomes the first.
 * </ol>
 *
 * <p>A first socket that never connected (every attempt failed) is forgotten: the next one is
 * balanced afresh.
 *
 * <p>Thread-safe: a driver cancels from another thread.
 */
final class ConnectionSockets {
  private final BalancedConnector connector;
  private final String key;

  /** The connection's balanced socket. Guarded by this. */
  private LeasedSocket first;

  ConnectionSockets(BalancedConnector connector, String key) {
    this.connector = connector;
    this.key = key;
  }

  /** Returns the next unconnected socket of the connection: see the class documentation. */
  synchronized Socket next() {
    if (first != null) {
      Lease lease = first.lease();
      if (lease != null && lease.isGranted()) {
        if (!first.isClosed()) {
          return new PinnedSocket(lease.target());
        }
        first = connector.unconnectedSocketByKeyHash(lease.hash());
        return first;
      }
    }
    first = key == null ? connector.unconnectedSocket() : connector.unconnectedSocket(key);
    return first;
  }

  /**
   * A socket to the server of a connection's balanced socket, for the driver's cancel requests:
   * {@code connect} ignores its address and connects there, once, unleased.
   */
  static final class PinnedSocket extends Socket {
    private final InetSocketAddress target;

    PinnedSocket(InetSocketAddress target) {
      this.target = target;
    }

    /** Returns the server this socket connects to. */
    InetSocketAddress target() {
      return target;
    }

    @Override
    public void connect(SocketAddress ignored, int timeout) throws IOException {
      super.connect(target, timeout);
    }

    @Override
    public void connect(SocketAddress ignored) throws IOException {
      super.connect(target);
    }

    @Override
    public String toString() {
      return "PinnedSocket(" + target + ", " + super.toString() + ")";
    }
  }
}
