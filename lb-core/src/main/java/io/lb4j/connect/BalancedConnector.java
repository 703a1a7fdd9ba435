package io.lb4j.connect;

import io.lb4j.Durations;
import io.lb4j.FlowKey;
import io.lb4j.Lease;
import io.lb4j.LoadBalancer;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Connects a client to the backend a rule of a {@link LoadBalancer} chooses, with connect retry and
 * passive health, and hands back the connection together with its {@link Lease}: what the proxy
 * does for each accepted connection, for a service's own outgoing connections.
 *
 * <pre>{@code
 * BalancedConnector db = BalancedConnector.builder(lb, "orders-db").build();
 * try (LeasedSocket socket = db.connect("tenant-7")) {   // the tenant's shard, or the next one
 *   socket.getOutputStream().write(...);
 * }                                                     // closes the socket and ends the lease
 * }</pre>
 *
 * <p>Each connect:
 *
 * <ol>
 *   <li>takes a lease: by the key's hash ({@link LoadBalancer#leaseByKeyHash}), without a key by
 *       the rule's scheduler ({@link LoadBalancer#lease(String)}), or, with {@link
 *       Builder#bindLocalAddress}, by the real 5-tuple after binding a local port ({@link
 *       LoadBalancer#lease(FlowKey)}), so the flow table and {@code explain} see the client's flow
 *       as they see a proxied one;
 *   <li>connects to the lease's target within the connect timeout (5 s, the proxy's {@code
 *       connectTimeout} default, Envoy's {@code connect_timeout});
 *   <li>on a refusal, a timeout or an unreachable host, reports the failure to passive health
 *       ({@link LoadBalancer#reportConnectFailure}), ends that lease and tries again on a backend
 *       not yet tried, up to {@link Builder#maxAttempts} (3, the proxy's {@code
 *       maxConnectAttempts});
 *   <li>on success reports it ({@link LoadBalancer#reportConnectSuccess}) and returns the socket;
 *       closing the socket ends the lease, and the balancer ending the lease ({@code DISABLED}, a
 *       drain deadline) closes the socket.
 * </ol>
 *
 * <p>When no backend can be leased or every attempt failed, {@link ConnectException} says so,
 * naming the rule and each backend tried with its error.
 *
 * <p>Thread-safe; a connector is meant to be shared.
 */
public final class BalancedConnector {
  /** The connect timeout when none is set: 5 s, as the proxy's and Envoy's. */
  public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(5);

  /** The connect attempts when none is set: 3, as the proxy's. */
  public static final int DEFAULT_MAX_ATTEMPTS = 3;

  private final LoadBalancer lb;
  private final String rule;
  private final int connectTimeoutMillis;
  private final int maxAttempts;
  private final InetAddress bindAddress;

  private BalancedConnector(Builder b) {
    this.lb = b.lb;
    this.rule = b.rule;
    this.connectTimeoutMillis = (int) b.connectTimeout.toMillis();
    this.maxAttempts = b.maxAttempts;
    this.bindAddress = b.bindAddress;
  }

  /**
   * Returns a builder of a connector to the backends of rule {@code rule} of {@code lb}.
   *
   * @param lb the balancer that chooses
   * @param rule the name of one of its load-balancing rules
   * @return a builder with the defaults: 5 s connect timeout, 3 attempts, no local bind
   * @throws IllegalArgumentException if the balancer has no rule {@code rule}
   */
  public static Builder builder(LoadBalancer lb, String rule) {
    return new Builder(lb, rule);
  }

  /** {@return the balancer that chooses each connection's backend} */
  public LoadBalancer balancer() {
    return lb;
  }

  /** {@return the name of the load-balancing rule whose backends it connects to} */
  public String rule() {
    return rule;
  }

  /**
   * Connects without a key: the rule's scheduler picks.
   *
   * @return the connected socket, holding its lease; close it to end the lease
   * @throws java.io.IOException a {@link ConnectException} when no backend can be leased or every
   *     attempt failed, naming the rule and each backend tried with its error
   */
  public LeasedSocket connect() throws IOException {
    LeasedSocket s = unconnectedSocket();
    s.connect(null);
    return s;
  }

  /**
   * Connects to the backend of application key {@code key}, or the next one if it fails.
   *
   * @param key the application's key
   * @return the connected socket, holding its lease; close it to end the lease
   * @throws java.io.IOException a {@link ConnectException} when no backend can be leased or every
   *     attempt failed, naming the rule and each backend tried with its error
   */
  public LeasedSocket connect(long key) throws IOException {
    return connectByKeyHash(lb.keyHash(key));
  }

  /**
   * Connects to the backend of application key {@code key}, or the next one if it fails.
   *
   * @param key the application's key, not null
   * @return the connected socket, holding its lease; close it to end the lease
   * @throws java.io.IOException a {@link ConnectException} when no backend can be leased or every
   *     attempt failed, naming the rule and each backend tried with its error
   */
  public LeasedSocket connect(CharSequence key) throws IOException {
    return connectByKeyHash(lb.keyHash(key));
  }

  /**
   * Connects to the backend of application key {@code key}, or the next one if it fails.
   *
   * @param key the application's key, not null
   * @return the connected socket, holding its lease; close it to end the lease
   * @throws java.io.IOException a {@link ConnectException} when no backend can be leased or every
   *     attempt failed, naming the rule and each backend tried with its error
   */
  public LeasedSocket connect(byte[] key) throws IOException {
    return connectByKeyHash(lb.keyHash(key));
  }

  /**
   * Connects to the backend of the key whose {@link LoadBalancer#keyHash hash} is given.
   *
   * @param keyHash the key's hash, from {@link LoadBalancer#keyHash}
   * @return the connected socket, holding its lease; close it to end the lease
   * @throws java.io.IOException a {@link ConnectException} when no backend can be leased or every
   *     attempt failed, naming the rule and each backend tried with its error
   */
  public LeasedSocket connectByKeyHash(long keyHash) throws IOException {
    LeasedSocket s = unconnectedSocketByKeyHash(keyHash);
    s.connect(null);
    return s;
  }

  /**
   * Returns a socket that connects without a key when its {@code connect} is called, for a {@code
   * javax.net.SocketFactory} whose driver sets options and then connects ({@link LeasedSocket}).
   *
   * @return an unconnected socket; it takes its lease when it connects
   */
  public LeasedSocket unconnectedSocket() {
    return new LeasedSocket(this, 0, false);
  }

  /**
   * Returns a socket that connects to key {@code key}'s backend when its connect is called.
   *
   * @param key the application's key, not null
   * @return an unconnected socket; it takes its lease when it connects
   */
  public LeasedSocket unconnectedSocket(CharSequence key) {
    return unconnectedSocketByKeyHash(lb.keyHash(key));
  }

  /**
   * Returns a socket that connects to the key hash's backend when its connect is called.
   *
   * @param keyHash the key's hash, from {@link LoadBalancer#keyHash}
   * @return an unconnected socket; it takes its lease when it connects
   */
  public LeasedSocket unconnectedSocketByKeyHash(long keyHash) {
    return new LeasedSocket(this, keyHash, true);
  }

  /**
   * Opens a blocking {@link SocketChannel} to a backend chosen without a key.
   *
   * @return the connected channel, in blocking mode, holding its lease; close it to end the lease
   * @throws java.io.IOException a {@link ConnectException} when no backend can be leased or every
   *     attempt failed, naming the rule and each backend tried with its error
   */
  public LeasedChannel openChannel() throws IOException {
    return openChannel(ThreadLocalRandom.current().nextLong(), false);
  }

  /**
   * Opens a blocking {@link SocketChannel} to key {@code key}'s backend, or the next one.
   *
   * @param key the application's key, not null
   * @return the connected channel, in blocking mode, holding its lease; close it to end the lease
   * @throws java.io.IOException a {@link ConnectException} when no backend can be leased or every
   *     attempt failed, naming the rule and each backend tried with its error
   */
  public LeasedChannel openChannel(CharSequence key) throws IOException {
    return openChannel(lb.keyHash(key), true);
  }

  /**
   * Opens a blocking {@link SocketChannel} to key {@code key}'s backend, or the next one.
   *
   * @param key the application's key
   * @return the connected channel, in blocking mode, holding its lease; close it to end the lease
   * @throws java.io.IOException a {@link ConnectException} when no backend can be leased or every
   *     attempt failed, naming the rule and each backend tried with its error
   */
  public LeasedChannel openChannel(long key) throws IOException {
    return openChannel(lb.keyHash(key), true);
  }

  private LeasedChannel openChannel(long hash, boolean keyed) throws IOException {
    Attempts<SocketChannel> attempts =
        connect(
            hash,
            keyed,
            connectTimeoutMillis,
            () -> {
              SocketChannel ch = SocketChannel.open();
              return new Endpoint<>(ch, ch.socket());
            });
    return new LeasedChannel(attempts.connection, attempts.lease);
  }

  // ---------------------------------------------------------------- the attempts

  /** A socket of one attempt and what its options are set on. */
  record Endpoint<C extends java.io.Closeable>(C connection, Socket socket) {}

  /** Makes the socket of one attempt, its options applied. */
  @FunctionalInterface
  interface Opener<C extends java.io.Closeable> {
    Endpoint<C> open() throws IOException;
  }

  /** The result of the attempts: the connection and its lease. */
  static final class Attempts<C> {
    final C connection;
    final Lease lease;

    Attempts(C connection, Lease lease) {
      this.connection = connection;
      this.lease = lease;
    }
  }

  /**
   * Leases and connects, up to the attempts; each attempt's timeout is the connector's, capped by
   * {@code timeoutCapMillis} when above 0.
   */
  <C extends java.io.Closeable> Attempts<C> connect(
      long hash, boolean keyed, int timeoutCapMillis, Opener<C> opener) throws IOException {
    int timeout =
        timeoutCapMillis > 0
            ? Math.min(timeoutCapMillis, connectTimeoutMillis)
            : connectTimeoutMillis;
    ConnectAttempts attempts = new ConnectAttempts(this, hash, keyed, timeout);
    while (true) {
      Endpoint<C> e = opener.open();
      Lease lease;
      try {
        if (bindAddress != null) {
          e.socket().bind(new InetSocketAddress(bindAddress, 0));
          lease = attempts.nextForFlow((InetSocketAddress) e.socket().getLocalSocketAddress());
        } else {
          lease = attempts.next();
        }
      } catch (IOException | RuntimeException ex) {
        closeQuietly(e.connection());
        throw ex;
      }
      try {
        e.socket().connect(lease.target(), timeout);
        attempts.succeeded(lease);
        return new Attempts<>(e.connection(), lease);
      } catch (IOException ex) {
        closeQuietly(e.connection());
        attempts.failed(lease, ex);
      }
    }
  }

  /**
   * Returns the attempts of one connect to the key whose {@link LoadBalancer#keyHash hash} is
   * given, for a connector of another I/O library (lb-netty-adapter's {@code NettyConnector} is
   * one).
   *
   * @param keyHash the key's hash, from {@link LoadBalancer#keyHash}
   * @return the attempts, used by one connect on one thread
   */
  public ConnectAttempts attempts(long keyHash) {
    return new ConnectAttempts(this, keyHash, true, connectTimeoutMillis);
  }

  /** {@return the attempts of one connect without a key: the rule's scheduler picks} */
  public ConnectAttempts attempts() {
    return new ConnectAttempts(this, 0, false, connectTimeoutMillis);
  }

  /** {@return the connect timeout of each attempt, in milliseconds} */
  public int connectTimeoutMillis() {
    return connectTimeoutMillis;
  }

  /** {@return the most connects one connect tries} */
  public int maxAttempts() {
    return maxAttempts;
  }

  /** {@return the local address connections bind to before their backend is chosen, or null} */
  public InetAddress bindLocalAddress() {
    return bindAddress;
  }

  static void closeQuietly(java.io.Closeable c) {
    try {
      c.close();
    } catch (IOException ignored) {
      // nothing to do: the connection is being abandoned
    }
  }

  /**
   * Builds a {@link BalancedConnector}.
   *
   * <p>Not thread-safe.
   */
  public static final class Builder {
    private final LoadBalancer lb;
    private final String rule;
    private Duration connectTimeout = DEFAULT_CONNECT_TIMEOUT;
    private int maxAttempts = DEFAULT_MAX_ATTEMPTS;
    private InetAddress bindAddress;

    private Builder(LoadBalancer lb, String rule) {
      this.lb = Objects.requireNonNull(lb, "lb");
      this.rule = Objects.requireNonNull(rule, "rule");
      if (lb.config().rule(rule) == null) {
        throw new IllegalArgumentException(
            "rule: '" + rule + "' (expected: one of " + lb.config().ruleNames() + ")");
      }
    }

    /**
     * Sets how long one connect may take, above 0 and at most 10 minutes; 5 s by default.
     *
     * @param timeout the timeout of each attempt
     * @return this builder
     * @throws IllegalArgumentException if out of range
     */
    public Builder connectTimeout(Duration timeout) {
      Objects.requireNonNull(timeout, "connectTimeout");
      if (timeout.isNegative()
          || timeout.toMillis() < 1
          || timeout.compareTo(Duration.ofMinutes(10)) > 0) {
        throw new IllegalArgumentException(
            "connectTimeout: " + Durations.format(timeout) + " (expected: 1ms-10m)");
      }
      this.connectTimeout = timeout;
      return this;
    }

    /**
     * Sets the connects tried before giving up, each on another backend while one is left, 1-10; 3
     * by default.
     *
     * @param attempts the most connects, 1-10
     * @return this builder
     */
    public Builder maxAttempts(int attempts) {
      if (attempts < 1 || attempts > 10) {
        throw new IllegalArgumentException("maxAttempts: " + attempts + " (expected: 1-10)");
      }
      this.maxAttempts = attempts;
      return this;
    }

    /**
     * Binds each connection to a local port of {@code address} before choosing its backend, and
     * chooses by the real 5-tuple (the rule's distribution mode), recording the flow in the flow
     * table like a proxied one; keys are then ignored. Off by default.
     *
     * @param address a local address to bind to, port chosen by the system; it must reach the
     *     backends
     * @return this builder
     */
    public Builder bindLocalAddress(InetAddress address) {
      this.bindAddress = Objects.requireNonNull(address, "bindLocalAddress");
      return this;
    }

    /** {@return the connector; the builder can build more} */
    public BalancedConnector build() {
      return new BalancedConnector(this);
    }
  }
}
