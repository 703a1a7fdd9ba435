package io.lb4j.netty;

import io.lb4j.IpLiteral;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.util.NetUtil;
import io.netty.util.concurrent.EventExecutor;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;

/**
 * The listening sockets of one rule: a single socket whose event loop accepts for all the loops,
 * or, with {@code SO_REUSEPORT}, one socket per event loop, each accepting on its own loop the
 * connections that then live there.
 *
 * <p><b>One socket</b> (one I/O thread, {@code reusePort} off, or a transport without the option):
 * Netty's server channel sits on one loop, which accepts every connection and hands each to the
 * next loop in turn. That loop is the only acceptor: under connection churn it accepts for all.
 *
 * <p><b>One socket per loop</b> ({@link #bind} with {@code perLoop}): N sockets bound to the same
 * address with {@code SO_REUSEPORT}, socket i on loop i with its children on loop i as well (a
 * {@code ServerBootstrap} with {@code group(loop_i, loop_i)}). Linux picks the socket of each new
 * connection from a hash of its addresses and ports, so new connections spread evenly over the
 * loops and no loop accepts for another; but a loop that is busy delays the connections hashed to
 * it, which no other loop takes (as with nginx's and Envoy's {@code reuseport}).
 *
 * <p>{@code SO_REUSEPORT} lets any socket of the same effective user join the group on the port
 * (the kernel refuses other users). So before the first socket binds, the address is bound once by
 * a plain socket without the option ({@code SO_REUSEADDR} only, as the listeners have it, not
 * listening) and closed: a port held by anyone — with or without {@code SO_REUSEPORT}, a second
 * lb4j among them — fails with "address already in use", as it does with one socket. A process of
 * the same user that binds with {@code SO_REUSEPORT} after the proxy still joins its group; see
 * docs/proxy.md. Port 0: the first socket binds port 0 and the others the port the kernel chose.
 *
 * <p>Immutable; {@link #close()} may be called from any thread but an event loop.
 */
final class Acceptors {
  private final List<Channel> channels;

  private Acceptors(List<Channel> channels) {
    this.channels = List.copyOf(channels);
  }

  /**
   * Binds the listening sockets of rule {@code rule} on {@code address}: one for {@code group}, or
   * one per loop of {@code group} with {@code reusePort}. Blocks until they listen: not for an
   * event loop.
   *
   * @param reusePort the transport's {@code SO_REUSEPORT} for one socket per loop, or null for one
   *     socket for the whole group
   * @throws IllegalStateException naming the rule, the address and why, with nothing left bound
   */
  static Acceptors bind(
      String rule,
      InetSocketAddress address,
      Transport transport,
      EventLoopGroup group,
      ChannelOption<Boolean> reusePort,
      ChannelHandler children) {
    if (reusePort == null) {
      return new Acceptors(List.of(bindOne(rule, address, transport, group, null, children, "")));
    }
    List<EventLoop> loops = new ArrayList<>();
    for (EventExecutor e : group) {
      loops.add((EventLoop) e);
    }
    if (address.getPort() != 0) {
      requireFree(rule, address);
    }
    List<Channel> bound = new ArrayList<>(loops.size());
    try {
      InetSocketAddress at = address;
      for (int i = 0; i < loops.size(); i++) {
        String which =
            i == 0
                ? ""
                : " (listening socket " + (i + 1) + " of " + loops.size() + ", SO_REUSEPORT)";
        Channel c = bindOne(rule, at, transport, loops.get(i), reusePort, children, which);
        bound.add(c);
        if (i == 0) { // port 0: the siblings take the port the kernel chose for the first
          at =
              new InetSocketAddress(
                  address.getAddress(), ((InetSocketAddress) c.localAddress()).getPort());
        }
      }
    } catch (RuntimeException e) {
      close(bound);
      throw e;
    }
    return new Acceptors(bound);
  }

  /**
   * Fails, naming the rule and the address, if any socket holds {@code address}: bound once by a
   * socket without {@code SO_REUSEPORT} (which no group of listeners admits), with {@code
   * SO_REUSEADDR} as the listeners (so that connections in TIME_WAIT on the port do not count), not
   * listening (so that it never takes a connection), and closed.
   */
  private static void requireFree(String rule, InetSocketAddress address) {
    try (Socket probe = new Socket()) {
      probe.setReuseAddress(true);
      probe.bind(address);
    } catch (IOException e) {
      throw cannotListen(rule, address, "", e);
    }
  }

  private static Channel bindOne(
      String rule,
      InetSocketAddress address,
      Transport transport,
      EventLoopGroup loops,
      ChannelOption<Boolean> reusePort,
      ChannelHandler children,
      String which) {
    ServerBootstrap b =
        new ServerBootstrap()
            .group(loops, loops) // one loop with reusePort: its children stay on it
            .channel(transport.serverChannel())
            // the kernel's own cap (net.core.somaxconn, 4096 on current Linux), as HAProxy's
            // listeners use maxconn clamped to it: a burst of new connections waits in the
            // accept queue instead of having its SYNs dropped at 1,024
            .option(ChannelOption.SO_BACKLOG, NetUtil.SOMAXCONN)
            .option(ChannelOption.SO_REUSEADDR, true)
            .childOption(ChannelOption.AUTO_READ, false)
            // Netty 4.2's default adaptive allocator fell back to unpooled, zeroed direct buffers
            // for the relay's 64 KiB reads (Unsafe.setMemory, malloc and free per read: ~8% of a
            // bulk stream's CPU in async-profiler, docs/benchmarks.md); the pooled one reuses them
            .childOption(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
            .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
            // TCP_NODELAY: Netty turns it on when it creates the channel (Linux, NIO and epoll);
            // asking again costs one setsockopt per connection
            .childHandler(children);
    if (reusePort != null) {
      b.option(reusePort, true);
    }
    // awaitUninterruptibly, not syncUninterruptibly: the latter rethrows a bind's IOException
    // undeclared, past every catch of RuntimeException, and a failed reload would leave the
    // listeners it had bound open
    ChannelFuture f = b.bind(address).awaitUninterruptibly();
    if (!f.isSuccess()) {
      throw cannotListen(rule, address, which, f.cause());
    }
    return f.channel();
  }

  private static IllegalStateException cannotListen(
      String rule, InetSocketAddress address, String which, Throwable cause) {
    return new IllegalStateException(
        "rule '"
            + rule
            + "': cannot listen on "
            + IpLiteral.format(address)
            + which
            + ": "
            + (cause == null ? "bind failed" : cause.getMessage()),
        cause);
  }

  /** {@return the address the sockets listen on, with the port the kernel chose for port 0} */
  InetSocketAddress localAddress() {
    return (InetSocketAddress) channels.get(0).localAddress();
  }

  /** {@return the listening channels, one per event loop or a single one} */
  List<Channel> channels() {
    return channels;
  }

  /** Closes every socket and waits until each is closed. */
  void close() {
    close(channels);
  }

  private static void close(List<Channel> channels) {
    List<ChannelFuture> closing = new ArrayList<>(channels.size());
    for (Channel c : channels) {
      closing.add(c.close());
    }
    for (ChannelFuture f : closing) {
      f.awaitUninterruptibly();
    }
  }

  @Override
  public String toString() {
    InetSocketAddress a = localAddress();
    return a == null ? "(closed)" : IpLiteral.format(a);
  }
}
