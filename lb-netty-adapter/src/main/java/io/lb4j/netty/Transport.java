package io.lb4j.netty;

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
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;

/**
 * The I/O transport: native epoll on Linux when it loads, Java NIO otherwise.
 *
 * <p>Instances are immutable and thread-safe.
 */
public enum Transport {
  /** Epoll when available, else NIO. */
  AUTO,
  /** Linux native epoll; refused where it does not load. */
  EPOLL,
  /** Java NIO, everywhere. */
  NIO;

  /** Returns the transport this one resolves to on this machine. */
  Transport resolve() {
    if (this == AUTO) {
      return Epoll.isAvailable() ? EPOLL : NIO;
    }
    if (this == EPOLL && !Epoll.isAvailable()) {
      throw new IllegalStateException(
          "transport: EPOLL (expected: a transport that loads here; epoll does not: "
              + Epoll.unavailabilityCause()
              + ")");
    }
    return this;
  }

  EventLoopGroup newGroup(int threads, String name) {
    IoHandlerFactory factory =
        this == EPOLL ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
    return new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory(name, true), factory);
  }

  Class<? extends ServerChannel> serverChannel() {
    return this == EPOLL ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
  }

  Class<? extends SocketChannel> socketChannel() {
    return this == EPOLL ? EpollSocketChannel.class : NioSocketChannel.class;
  }
}
