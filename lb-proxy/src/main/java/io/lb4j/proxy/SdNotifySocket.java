package io.lb4j.proxy;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDomainDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The service manager's notification socket ({@code sd_notify(3)}): the {@code AF_UNIX} datagram
 * socket that {@code NOTIFY_SOCKET} names, a path ({@code /run/systemd/notify}) or, after an
 * {@code @}, an abstract address. A message is a datagram of newline-separated {@code KEY=VALUE}
 * lines ({@code READY=1\nSTATUS=...}); systemd learns the sender's pid from the kernel.
 *
 * <p>Each message goes in a socket of its own, connected, written and closed, as libsystemd's
 * {@code sd_notify} does: a socket kept open would point at a dead one after {@code systemctl
 * daemon-reexec}. The JDK cannot send a Unix-domain datagram (its {@code UnixDomainSocketAddress}
 * serves stream sockets only), so Netty's epoll transport does ({@link
 * EpollDomainDatagramChannel}), on an event loop of its own that also runs the notifier's timers.
 *
 * <p>Thread-safe.
 */
final class SdNotifySocket implements AutoCloseable {
  private static final Logger logger = LoggerFactory.getLogger(SdNotifySocket.class);

  /** The longest address: {@code sizeof(sockaddr_un.sun_path)} on Linux. */
  static final int MAX_ADDRESS_BYTES = 108;

  /** A handler that does nothing: the socket only sends. */
  @ChannelHandler.Sharable
  private static final class SendOnly extends ChannelInboundHandlerAdapter {}

  private final String name;
  private final DomainSocketAddress address;
  private final EventLoopGroup group;
  private final Bootstrap bootstrap;

  private SdNotifySocket(String name, DomainSocketAddress address) {
    this.name = name;
    this.address = address;
    this.group =
        new MultiThreadIoEventLoopGroup(
            1, new DefaultThreadFactory("lb4j-sd-notify", true), EpollIoHandler.newFactory());
    this.bootstrap =
        new Bootstrap()
            .group(group)
            .channel(EpollDomainDatagramChannel.class)
            .option(ChannelOption.AUTO_READ, false)
            .handler(new SendOnly());
  }

  /**
   * Opens the socket {@code notifySocket} names: a path, or {@code @} and an abstract name.
   *
   * @throws IllegalArgumentException if it is neither, or too long, naming the value and what was
   *     expected
   * @throws IllegalStateException if Netty's epoll transport does not load here, with its reason
   */
  static SdNotifySocket open(String notifySocket) {
    byte[] bytes;
    String path;
    if (notifySocket.startsWith("/")) {
      path = notifySocket;
      bytes = path.getBytes(StandardCharsets.UTF_8);
      if (bytes.length >= MAX_ADDRESS_BYTES) { // and its terminating NUL
        throw tooLong(notifySocket, bytes.length);
      }
    } else if (notifySocket.startsWith("@") && notifySocket.length() > 1) {
      path = "\0" + notifySocket.substring(1); // Linux's abstract namespace: a leading NUL
      bytes = path.getBytes(StandardCharsets.UTF_8);
      if (bytes.length > MAX_ADDRESS_BYTES) {
        throw tooLong(notifySocket, bytes.length);
      }
    } else {
      throw new IllegalArgumentException(
          "NOTIFY_SOCKET: '"
              + notifySocket
              + "' (expected: an absolute path of an AF_UNIX socket, or @ and an abstract name)");
    }
    if (!Epoll.isAvailable()) {
      throw new IllegalStateException(
          "NOTIFY_SOCKET is set, but Netty's epoll transport, which sends to it, does not load: "
              + Epoll.unavailabilityCause());
    }
    return new SdNotifySocket(notifySocket, new DomainSocketAddress(path));
  }

  private static IllegalArgumentException tooLong(String notifySocket, int bytes) {
    return new IllegalArgumentException(
        "NOTIFY_SOCKET: '"
            + notifySocket
            + "' is "
            + bytes
            + " bytes (expected: less than "
            + MAX_ADDRESS_BYTES
            + ", the size of an AF_UNIX address)");
  }

  /**
   * Sends {@code state} ({@code READY=1}, or several lines) in one datagram; the future completes
   * when the kernel took it, or fails with why (no one listens at the address: {@code connection
   * refused}).
   */
  CompletableFuture<Void> send(String state) {
    CompletableFuture<Void> sent = new CompletableFuture<>();
    ChannelFuture connect;
    try {
      connect = bootstrap.connect(address);
    } catch (RuntimeException closed) { // the event loop is shut down
      sent.completeExceptionally(closed);
      return sent;
    }
    connect.addListener(
        (ChannelFuture c) -> {
          if (!c.isSuccess()) {
            c.channel().close();
            sent.completeExceptionally(c.cause());
            return;
          }
          Channel ch = c.channel();
          ch.writeAndFlush(Unpooled.copiedBuffer(state, StandardCharsets.UTF_8))
              .addListener(
                  w -> {
                    ch.close();
                    if (w.isSuccess()) {
                      sent.complete(null);
                    } else {
                      sent.completeExceptionally(w.cause());
                    }
                  });
        });
    return sent;
  }

  /**
   * Runs {@code task} every {@code period} on the socket's event loop, the first time after one
   * period; a task that throws is logged and runs again at the next period.
   */
  ScheduledFuture<?> every(Duration period, Runnable task) {
    long nanos = period.toNanos();
    return group
        .next()
        .scheduleAtFixedRate(
            () -> {
              try {
                task.run();
              } catch (RuntimeException e) {
                logger.warn("sd_notify timer failed, runs again: {}", e.toString());
              }
            },
            nanos,
            nanos,
            TimeUnit.NANOSECONDS);
  }

  /** Returns the socket as {@code NOTIFY_SOCKET} names it. */
  @Override
  public String toString() {
    return name;
  }

  /** Stops the timers and releases the event loop, waiting at most 2 s. Idempotent. */
  @Override
  public void close() {
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(2, TimeUnit.SECONDS);
  }
}
