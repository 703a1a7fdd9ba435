package io.lb4j.netty;

import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioChannelOption;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.channel.unix.IntegerUnixChannelOption;
import io.netty.channel.unix.UnixChannelOption;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerSocketChannel;
import io.netty.channel.uring.IoUringSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.net.StandardSocketOptions;
import java.nio.channels.ServerSocketChannel;
import java.util.Locale;

/**
 * The I/O transport: by default io_uring where it loads, native epoll where it does not, Java NIO
 * elsewhere; or one of them on request.
 *
 * <p>Instances are immutable and thread-safe.
 */
public enum Transport {
  /**
   * io_uring where it loads, else epoll, else NIO: io_uring proxies a new connection at 1.1×
   * HAProxy's CPU against epoll's 1.5× (benchmarks.md, issue 17), and a kernel or seccomp profile
   * that forbids it only moves the choice to epoll.
   */
  AUTO,
  /** Linux native epoll; refused where it does not load. */
  EPOLL,
  /** Java NIO, everywhere. */
  NIO,
  /** Linux io_uring (kernel 5.14 and later); refused where it does not load. */
  IO_URING;

  /** Returns the transport this one resolves to on this machine. */
  Transport resolve() {
    if (this == AUTO) {
      return IoUring.isAvailable() ? IO_URING : Epoll.isAvailable() ? EPOLL : NIO;
    }
    if (this == EPOLL && !Epoll.isAvailable()) {
      throw new IllegalStateException(
          "transport: EPOLL (expected: a transport that loads here; epoll does not: "
              + Epoll.unavailabilityCause()
              + ")");
    }
    if (this == IO_URING && !IoUring.isAvailable()) {
      throw new IllegalStateException(
          "transport: IO_URING (expected: a transport that loads here; io_uring does not: "
              + IoUring.unavailabilityCause()
              + ")");
    }
    return this;
  }

  EventLoopGroup newGroup(int threads, String name) {
    IoHandlerFactory factory;
    switch (this) {
      case EPOLL:
        factory = EpollIoHandler.newFactory();
        break;
      case IO_URING:
        factory = IoUringIoHandler.newFactory();
        break;
      default:
        factory = NioIoHandler.newFactory();
    }
    return new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory(name, true), factory);
  }

  Class<? extends ServerChannel> serverChannel() {
    switch (this) {
      case EPOLL:
        return EpollServerSocketChannel.class;
      case IO_URING:
        return IoUringServerSocketChannel.class;
      default:
        return NioServerSocketChannel.class;
    }
  }

  /**
   * Linux's {@code IP_BIND_ADDRESS_NO_PORT} (level {@code SOL_IP} 0, option 24, linux/in.h, since
   * 4.2): a socket bound to an address with port 0 gets its port at connect, per destination. As a
   * raw option, so that epoll and io_uring (whose option class lacks it) set it alike.
   */
  private static final ChannelOption<Integer> IP_BIND_ADDRESS_NO_PORT =
      new IntegerUnixChannelOption("IP_BIND_ADDRESS_NO_PORT", 0, 24);

  /** Returns {@code IP_BIND_ADDRESS_NO_PORT} where this transport can set it, else null (NIO). */
  ChannelOption<Integer> bindAddressNoPort() {
    return this == EPOLL || this == IO_URING ? IP_BIND_ADDRESS_NO_PORT : null;
  }

  /**
   * Returns {@code SO_REUSEPORT} as this transport sets it on a listening socket, or null where it
   * cannot spread new connections over several listening sockets: NIO off Linux, or on a JDK whose
   * server socket channel lacks the option. Linux (3.9 and later) hashes each new connection's
   * addresses and ports to one socket of the group; BSD and macOS accept the option without that
   * balancing (one socket takes all), so NIO uses it on Linux only, as Envoy does.
   */
  ChannelOption<Boolean> reusePort() {
    switch (this) {
      case EPOLL:
      case IO_URING:
        return UnixChannelOption.SO_REUSEPORT; // epoll's and io_uring's option classes inherit it
      case NIO:
        return NioReusePort.OPTION;
      default:
        throw new IllegalStateException("transport: " + this + " (expected: resolved)");
    }
  }

  /** The JDK's {@code SO_REUSEPORT} for NIO, looked up once on first use. */
  private static final class NioReusePort {
    static final ChannelOption<Boolean> OPTION = lookUp();

    private static ChannelOption<Boolean> lookUp() {
      if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("linux")) {
        return null;
      }
      try (ServerSocketChannel probe = ServerSocketChannel.open()) {
        return probe.supportedOptions().contains(StandardSocketOptions.SO_REUSEPORT)
            ? NioChannelOption.of(StandardSocketOptions.SO_REUSEPORT)
            : null;
      } catch (IOException | UnsupportedOperationException e) {
        return null;
      }
    }
  }

  Class<? extends SocketChannel> socketChannel() {
    switch (this) {
      case EPOLL:
        return EpollSocketChannel.class;
      case IO_URING:
        return IoUringSocketChannel.class;
      default:
        return NioSocketChannel.class;
    }
  }
}
