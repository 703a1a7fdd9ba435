package io.lb4j.netty;

import io.lb4j.Lease;
import io.lb4j.LoadBalancer;
import io.lb4j.connect.BalancedConnector;
import io.lb4j.connect.ConnectAttempts;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.util.AttributeKey;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Objects;

/**
 * Connects a Netty client {@link Bootstrap} to the backend a rule of a {@link LoadBalancer}
 * chooses: the Netty flavour of {@code io.lb4j.connect.BalancedConnector}, usable from any
 * bootstrap (its group, channel type, handler and options are the caller's).
 *
 * <pre>{@code
 * NettyConnector shards = NettyConnector.of(BalancedConnector.builder(lb, "cache").build());
 * shards.connect(bootstrap, "user-42").addListener(f -> {
 *   if (f.isSuccess()) {
 *     Channel ch = (Channel) f.getNow();   // NettyConnector.lease(ch) is its lease
 *   }
 * });
 * }</pre>
 *
 * <p>The settings — rule, connect timeout, attempts, local bind — are a {@link
 * BalancedConnector}'s, and each connect runs its {@link ConnectAttempts}: it takes a lease (by
 * key, by the rule's scheduler, or by the real 5-tuple after a local bind), connects with the
 * connect timeout ({@link ChannelOption#CONNECT_TIMEOUT_MILLIS} on a clone of the bootstrap), and
 * on a refusal or timeout reports the failure to passive health, ends that lease and tries a
 * backend not yet tried, up to {@code maxAttempts}. The returned future completes on the
 * bootstrap's event loop with the connected channel, or fails with a {@link ConnectException}
 * naming every backend tried. The channel carries its lease ({@link #lease(Channel)}): the
 * channel's close ends the lease, and the balancer ending the lease ({@code DISABLED}, a drain
 * deadline) closes the channel. Cancelling the future closes a channel that connects after it.
 *
 * <p>Thread-safe; nothing blocks.
 */
public final class NettyConnector {
  private static final AttributeKey<Lease> LEASE = AttributeKey.valueOf("io.lb4j.lease");

  private final BalancedConnector settings;
  private final LoadBalancer lb;

  private NettyConnector(BalancedConnector settings) {
    this.settings = settings;
    this.lb = settings.balancer();
  }

  /**
   * Returns a connector that connects as {@code settings} does — its balancer, rule, connect
   * timeout, attempts and local bind — over Netty.
   *
   * @param settings the connector whose balancer, rule, timeout, attempts and local bind to use
   * @return the Netty connector
   */
  public static NettyConnector of(BalancedConnector settings) {
    return new NettyConnector(Objects.requireNonNull(settings, "settings"));
  }

  /**
   * Returns the lease a channel of this connector holds, or null for another channel.
   *
   * @param channel a channel
   * @return the channel's lease, or null
   */
  public static Lease lease(Channel channel) {
    return channel.attr(LEASE).get();
  }

  /**
   * Connects without a key: the rule's scheduler picks.
   *
   * @param bootstrap the caller's bootstrap, its group set; it is cloned, not changed
   * @return a future that completes with the connected channel, or fails with a {@link
   *     ConnectException} naming every backend tried
   */
  public Future<Channel> connect(Bootstrap bootstrap) {
    return connect(bootstrap, 0, false);
  }

  /**
   * Connects to the backend of application key {@code key}, or the next one if it fails.
   *
   * @param bootstrap the caller's bootstrap, its group set; it is cloned, not changed
   * @param key the application's key
   * @return a future that completes with the connected channel, or fails with a {@link
   *     ConnectException} naming every backend tried
   */
  public Future<Channel> connect(Bootstrap bootstrap, long key) {
    return connect(bootstrap, lb.keyHash(key), true);
  }

  /**
   * Connects to the backend of application key {@code key}, or the next one if it fails.
   *
   * @param bootstrap the caller's bootstrap, its group set; it is cloned, not changed
   * @param key the application's key, not null
   * @return a future that completes with the connected channel, or fails with a {@link
   *     ConnectException} naming every backend tried
   */
  public Future<Channel> connect(Bootstrap bootstrap, CharSequence key) {
    return connect(bootstrap, lb.keyHash(key), true);
  }

  /**
   * Connects to the backend of the key whose {@link LoadBalancer#keyHash hash} is given.
   *
   * @param bootstrap the caller's bootstrap, its group set; it is cloned, not changed
   * @param keyHash the key's hash, from {@link LoadBalancer#keyHash}
   * @return a future that completes with the connected channel, or fails with a {@link
   *     ConnectException} naming every backend tried
   */
  public Future<Channel> connectByKeyHash(Bootstrap bootstrap, long keyHash) {
    return connect(bootstrap, keyHash, true);
  }

  private Future<Channel> connect(Bootstrap bootstrap, long hash, boolean keyed) {
    Objects.requireNonNull(bootstrap, "bootstrap");
    EventLoopGroup group = bootstrap.config().group();
    if (group == null) {
      throw new IllegalArgumentException("bootstrap: no group set (expected: group(...) called)");
    }
    ConnectAttempts attempts = keyed ? settings.attempts(hash) : settings.attempts();
    Bootstrap b =
        bootstrap.clone().option(ChannelOption.CONNECT_TIMEOUT_MILLIS, attempts.timeoutMillis());
    Promise<Channel> promise = group.next().newPromise();
    new Attempt(b, promise, attempts).next();
    return promise;
  }

  /** One connect's attempts, each started on the completion of the last. */
  private final class Attempt {
    private final Bootstrap bootstrap;
    private final Promise<Channel> promise;
    private final ConnectAttempts attempts;

    Attempt(Bootstrap bootstrap, Promise<Channel> promise, ConnectAttempts attempts) {
      this.bootstrap = bootstrap;
      this.promise = promise;
      this.attempts = attempts;
    }

    void next() {
      if (promise.isDone()) {
        return; // cancelled
      }
      InetAddress bind = settings.bindLocalAddress();
      if (bind == null) {
        Lease lease;
        try {
          lease = attempts.next();
        } catch (ConnectException e) {
          promise.tryFailure(e);
          return;
        }
        connect(bootstrap.connect(lease.target()), lease);
        return;
      }
      ChannelFuture reg = bootstrap.register();
      reg.addListener(
          r -> {
            Channel ch = reg.channel();
            if (!r.isSuccess()) {
              ch.close();
              promise.tryFailure(r.cause());
              return;
            }
            ch.bind(new InetSocketAddress(bind, 0))
                .addListener(
                    bf -> {
                      Lease lease = null;
                      try {
                        if (!bf.isSuccess()) {
                          promise.tryFailure(bf.cause());
                        } else {
                          lease = attempts.nextForFlow((InetSocketAddress) ch.localAddress());
                        }
                      } catch (ConnectException e) {
                        promise.tryFailure(e);
                      }
                      if (lease == null) {
                        ch.close();
                      } else {
                        connect(ch.connect(lease.target()), lease);
                      }
                    });
          });
    }

    private void connect(ChannelFuture cf, Lease lease) {
      cf.addListener(
          f -> {
            Channel ch = cf.channel();
            if (f.isSuccess()) {
              attempts.succeeded(lease);
              ch.attr(LEASE).set(lease);
              ch.closeFuture().addListener(c -> lease.close());
              lease.onEnded(reason -> ch.close());
              if (!promise.trySuccess(ch)) {
                ch.close(); // cancelled meanwhile
              }
              return;
            }
            ch.close();
            attempts.failed(lease, f.cause());
            next();
          });
    }
  }
}
