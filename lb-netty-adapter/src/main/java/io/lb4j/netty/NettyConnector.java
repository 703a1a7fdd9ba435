package io.lb4j.netty;

import io.lb4j.Durations;
import io.lb4j.FlowKey;
import io.lb4j.IpLiteral;
import io.lb4j.Lease;
import io.lb4j.LoadBalancer;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.Protocol;
import io.lb4j.Rule;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelOption;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.EventLoopGroup;
import io.netty.util.AttributeKey;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Connects a Netty client {@link Bootstrap} to the backend a rule of a {@link LoadBalancer}
 * chooses: the Netty flavour of {@code io.lb4j.connect.BalancedConnector}, usable from any
 * bootstrap (its group, channel type, handler and options are the caller's).
 *
 * <pre>{@code
 * NettyConnector shards = NettyConnector.builder(lb, "cache").build();
 * shards.connect(bootstrap, "user-42").addListener(f -> {
 *   if (f.isSuccess()) {
 *     Channel ch = (Channel) f.getNow();   // NettyConnector.lease(ch) is its lease
 *   }
 * });
 * }</pre>
 *
 * <p>Each connect takes a lease (by key, by the rule's scheduler, or by the real 5-tuple after a
 * local bind), connects with the connect timeout ({@link ChannelOption#CONNECT_TIMEOUT_MILLIS} on a
 * clone of the bootstrap), and on a refusal or timeout reports the failure to passive health, ends
 * that lease and tries a backend not yet tried, up to {@code maxAttempts}. The returned future
 * completes on the bootstrap's event loop with the connected channel, or fails with a {@link
 * ConnectException} naming every backend tried. The channel carries its lease ({@link
 * #lease(Channel)}): the channel's close ends the lease, and the balancer ending the lease ({@code
 * DISABLED}, a drain deadline) closes the channel. Cancelling the future closes a channel that
 * connects after it.
 *
 * <p>Thread-safe; nothing blocks.
 */
public final class NettyConnector {
  private static final AttributeKey<Lease> LEASE = AttributeKey.valueOf("io.lb4j.lease");

  private final LoadBalancer lb;
  private final String rule;
  private final int connectTimeoutMillis;
  private final int maxAttempts;
  private final InetAddress bindAddress;

  private NettyConnector(Builder b) {
    this.lb = b.lb;
    this.rule = b.rule;
    this.connectTimeoutMillis = (int) b.connectTimeout.toMillis();
    this.maxAttempts = b.maxAttempts;
    this.bindAddress = b.bindAddress;
  }

  /**
   * Returns a builder of a connector to the backends of rule {@code rule} of {@code lb}.
   *
   * @throws IllegalArgumentException if the balancer has no rule {@code rule}
   */
  public static Builder builder(LoadBalancer lb, String rule) {
    return new Builder(lb, rule);
  }

  /** Returns the lease a channel of this connector holds, or null for another channel. */
  public static Lease lease(Channel channel) {
    return channel.attr(LEASE).get();
  }

  /** Connects without a key: the rule's scheduler picks. */
  public Future<Channel> connect(Bootstrap bootstrap) {
    return connect(bootstrap, ThreadLocalRandom.current().nextLong(), false);
  }

  /** Connects to the backend of application key {@code key}, or the next one if it fails. */
  public Future<Channel> connect(Bootstrap bootstrap, long key) {
    return connect(bootstrap, lb.keyHash(key), true);
  }

  /** Connects to the backend of application key {@code key}, or the next one if it fails. */
  public Future<Channel> connect(Bootstrap bootstrap, CharSequence key) {
    return connect(bootstrap, lb.keyHash(key), true);
  }

  /** Connects to the backend of the key whose {@link LoadBalancer#keyHash hash} is given. */
  public Future<Channel> connectByKeyHash(Bootstrap bootstrap, long keyHash) {
    return connect(bootstrap, keyHash, true);
  }

  private Future<Channel> connect(Bootstrap bootstrap, long hash, boolean keyed) {
    Objects.requireNonNull(bootstrap, "bootstrap");
    Bootstrap b =
        bootstrap.clone().option(ChannelOption.CONNECT_TIMEOUT_MILLIS, connectTimeoutMillis);
    EventLoopGroup group = b.config().group();
    if (group == null) {
      throw new IllegalArgumentException("bootstrap: no group set (expected: group(...) called)");
    }
    Promise<Channel> promise = group.next().newPromise();
    new Attempts(b, promise, hash, keyed).next();
    return promise;
  }

  /** One connect's attempts, each on the completion of the last. */
  private final class Attempts {
    private final Bootstrap bootstrap;
    private final Promise<Channel> promise;
    private final boolean keyed;
    private final String[] tried = new String[maxAttempts];
    private long hash;
    private int attempt;
    private StringBuilder failures;

    Attempts(Bootstrap bootstrap, Promise<Channel> promise, long hash, boolean keyed) {
      this.bootstrap = bootstrap;
      this.promise = promise;
      this.hash = hash;
      this.keyed = keyed;
    }

    void next() {
      if (promise.isDone()) {
        return; // cancelled
      }
      if (bindAddress != null) {
        ChannelFuture reg = bootstrap.register();
        reg.addListener(
            r -> {
              if (!r.isSuccess()) {
                promise.tryFailure(r.cause());
                return;
              }
              Channel ch = reg.channel();
              ch.bind(new InetSocketAddress(bindAddress, 0))
                  .addListener(
                      bf -> {
                        if (!bf.isSuccess()) {
                          ch.close();
                          promise.tryFailure(bf.cause());
                          return;
                        }
                        Lease lease = leaseFlow((InetSocketAddress) ch.localAddress());
                        if (granted(lease)) {
                          connect(ch.connect(lease.target()), lease);
                        } else {
                          ch.close();
                        }
                      });
            });
        return;
      }
      Lease lease;
      if (!keyed && attempt == 0) {
        lease = lb.lease(rule);
        hash = lease.hash();
      } else {
        lease = lb.leaseByKeyHash(rule, hash, attempt, tried, attempt);
      }
      if (granted(lease)) {
        connect(bootstrap.connect(lease.target()), lease);
      }
    }

    private Lease leaseFlow(InetSocketAddress local) {
      LoadBalancerConfig config = lb.config();
      Rule r = config.rule(rule);
      if (r == null) {
        return null;
      }
      FlowKey flow =
          FlowKey.of(
              Protocol.TCP,
              local,
              new InetSocketAddress(config.frontend(r.frontend()).address(), r.frontendPort()));
      if (attempt > 0 && !lb.reselect(flow, attempt, tried, attempt).isSelected()) {
        return null;
      }
      return lb.lease(flow);
    }

    private boolean granted(Lease lease) {
      if (lease != null && lease.isGranted()) {
        return true;
      }
      String why =
          attempt == 0 && lease != null
              ? lease.selection().detail()
              : "no backend left to try after " + attempt + " attempts" + failures;
      promise.tryFailure(new ConnectException(rule + ": " + why));
      return false;
    }

    private void connect(ChannelFuture cf, Lease lease) {
      String backend = lease.backend().id();
      cf.addListener(
          f -> {
            Channel ch = cf.channel();
            if (f.isSuccess()) {
              lb.reportConnectSuccess(rule, backend);
              ch.attr(LEASE).set(lease);
              ch.closeFuture().addListener(c -> lease.close());
              lease.onEnded(reason -> ch.close());
              if (!promise.trySuccess(ch)) {
                ch.close(); // cancelled meanwhile
              }
              return;
            }
            lease.close();
            ch.close();
            lb.reportConnectFailure(rule, backend);
            tried[attempt++] = backend;
            if (failures == null) {
              failures = new StringBuilder();
            }
            Throwable cause = f.cause();
            failures
                .append("; ")
                .append(backend)
                .append(' ')
                .append(IpLiteral.format(lease.target()))
                .append(": ")
                .append(
                    cause instanceof ConnectTimeoutException
                        ? "no answer within the connect timeout ("
                            + Durations.format(Duration.ofMillis(connectTimeoutMillis))
                            + ")"
                        : cause.getClass().getSimpleName() + ": " + cause.getMessage());
            if (attempt < maxAttempts) {
              next();
            } else {
              promise.tryFailure(
                  new ConnectException(
                      rule + ": every attempt failed (" + maxAttempts + " attempts)" + failures));
            }
          });
    }
  }

  /**
   * Builds a {@link NettyConnector}.
   *
   * <p>Not thread-safe.
   */
  public static final class Builder {
    private final LoadBalancer lb;
    private final String rule;
    private Duration connectTimeout = Duration.ofSeconds(5);
    private int maxAttempts = 3;
    private InetAddress bindAddress;

    private Builder(LoadBalancer lb, String rule) {
      this.lb = Objects.requireNonNull(lb, "lb");
      this.rule = Objects.requireNonNull(rule, "rule");
      if (lb.config().rule(rule) == null) {
        throw new IllegalArgumentException(
            "rule: '" + rule + "' (expected: one of " + lb.config().ruleNames() + ")");
      }
    }

    /** Sets how long one connect may take, 1 ms to 10 minutes; 5 s by default. */
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

    /** Sets the connects tried, each on another backend while one is left, 1-10; 3 by default. */
    public Builder maxAttempts(int attempts) {
      if (attempts < 1 || attempts > 10) {
        throw new IllegalArgumentException("maxAttempts: " + attempts + " (expected: 1-10)");
      }
      this.maxAttempts = attempts;
      return this;
    }

    /**
     * Binds each channel to a local port of {@code address} before its backend is chosen, and
     * chooses by the real 5-tuple, recording the flow in the flow table; keys are then ignored.
     */
    public Builder bindLocalAddress(InetAddress address) {
      this.bindAddress = Objects.requireNonNull(address, "bindLocalAddress");
      return this;
    }

    /** Returns the connector. */
    public NettyConnector build() {
      return new NettyConnector(this);
    }
  }
}
