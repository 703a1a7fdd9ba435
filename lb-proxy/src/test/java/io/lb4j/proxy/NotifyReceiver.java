package io.lb4j.proxy;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.EpollDomainDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.unix.DomainDatagramPacket;
import io.netty.channel.unix.DomainSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * systemd's side of {@code sd_notify} in a test: a Unix-domain datagram socket (Netty epoll) bound
 * at a path or, after {@code @}, an abstract name, queueing what it receives.
 */
final class NotifyReceiver implements AutoCloseable {
  private final EventLoopGroup group =
      new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
  private final BlockingQueue<String> received = new LinkedBlockingQueue<>();
  private final Channel channel;

  /** Binds at {@code notifySocket}, written as {@code NOTIFY_SOCKET} would be. */
  NotifyReceiver(String notifySocket) throws InterruptedException {
    String path = notifySocket.startsWith("@") ? "\0" + notifySocket.substring(1) : notifySocket;
    channel =
        new Bootstrap()
            .group(group)
            .channel(EpollDomainDatagramChannel.class)
            .handler(
                new SimpleChannelInboundHandler<DomainDatagramPacket>() {
                  @Override
                  protected void channelRead0(ChannelHandlerContext ctx, DomainDatagramPacket p) {
                    received.add(p.content().toString(StandardCharsets.UTF_8));
                  }
                })
            .bind(new DomainSocketAddress(path))
            .sync()
            .channel();
  }

  /** Returns the next message, waiting 10 s at most. */
  String take() throws InterruptedException {
    String m = received.poll(10, TimeUnit.SECONDS);
    if (m == null) {
      throw new AssertionError("no sd_notify message within 10 s");
    }
    return m;
  }

  /** Returns the next message that {@code wanted} accepts, skipping others, 10 s at most. */
  String takeFirst(Predicate<String> wanted) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    for (long left; (left = deadline - System.nanoTime()) > 0; ) {
      String m = received.poll(left, TimeUnit.NANOSECONDS);
      if (m != null && wanted.test(m)) {
        return m;
      }
    }
    throw new AssertionError("no such sd_notify message within 10 s");
  }

  @Override
  public void close() {
    channel.close().syncUninterruptibly();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }
}
