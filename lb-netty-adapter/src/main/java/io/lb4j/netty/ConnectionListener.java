package io.lb4j.netty;

/**
 * Hears about the proxy's connections: each backend connect that succeeded and each client
 * connection that ended. Registered with {@link NettyL4Proxy#addConnectionListener}; the standalone
 * proxy feeds its connect-time histogram from {@link #onConnected}.
 *
 * <p>Both methods run on the connection's event loop: they must return quickly, never block, and
 * not throw (a listener that throws is logged, rate-limited, and called again next time). With no
 * listener registered and the connection log off, the proxy builds no {@link ConnectionRecord}.
 *
 * <p>Implementations must be thread-safe: connections run on several event loops.
 */
public interface ConnectionListener {
  /**
   * A connect to backend {@code backend} of rule {@code rule} succeeded after {@code connectNanos}
   * (this attempt alone, from the connect call to the established connection).
   *
   * @param rule the rule's name
   * @param backend the backend's id
   * @param connectNanos nanoseconds from the connect call to the established connection
   */
  default void onConnected(String rule, String backend, long connectNanos) {}

  /**
   * A client connection ended: refused, given up on, or closed after relaying.
   *
   * @param record what the connection log writes of it
   */
  default void onConnectionEnded(ConnectionRecord record) {}
}
