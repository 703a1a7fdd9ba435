package io.lb4j.examples;

import io.lb4j.Backend;
import io.lb4j.BackendPool;
import io.lb4j.Frontend;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancingRule;
import io.lb4j.SelectionAlgorithm;
import io.lb4j.SelectionPolicy;
import io.lb4j.connect.BalancedConnector;
import io.lb4j.core.L4LoadBalancer;
import io.lb4j.netty.NettyConnector;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.Future;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A Netty client balanced by lb4j: any {@link Bootstrap} connects through a {@link NettyConnector}
 * to three servers on 127.0.0.2-.4, least connections over the leases the open channels hold.
 *
 * <p>Run: {@code java -cp examples/target/lb4j-examples.jar io.lb4j.examples.NettyClientExample}
 */
public final class NettyClientExample {
  public static void main(String[] args) throws Exception {
    List<ServerSocket> servers = new ArrayList<>();
    List<Backend> backends = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      String address = "127.0.0." + (2 + i);
      ServerSocket s = ShardedClientExample.greeter(address, "cache-" + i);
      servers.add(s);
      backends.add(Backend.of("cache-" + i, address, s.getLocalPort()));
    }
    LoadBalancerConfig config =
        LoadBalancerConfig.builder()
            .frontend(Frontend.of("cache", "127.0.0.1"))
            .pool(new BackendPool("cache", backends))
            .rule(
                LoadBalancingRule.builder("cache")
                    .frontend("cache")
                    .frontendPort(6379)
                    .backendPool("cache")
                    .backendPort(6379)
                    .selection(SelectionPolicy.of(SelectionAlgorithm.LEAST_CONNECTIONS))
                    .build())
            .build();
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    BlockingQueue<String> greetings = new LinkedBlockingQueue<>();
    Bootstrap bootstrap =
        new Bootstrap()
            .group(group)
            .channel(NioSocketChannel.class)
            .handler(
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel ch) {
                    ch.pipeline()
                        .addLast(
                            new SimpleChannelInboundHandler<ByteBuf>() {
                              @Override
                              protected void channelRead0(ChannelHandlerContext ctx, ByteBuf m) {
                                greetings.add(m.toString(StandardCharsets.US_ASCII).trim());
                              }
                            });
                  }
                });
    try (L4LoadBalancer lb = L4LoadBalancer.builder().config(config).build()) {
      NettyConnector cache = NettyConnector.of(BalancedConnector.builder(lb, "cache").build());
      List<Channel> channels = new ArrayList<>();
      for (int i = 0; i < 6; i++) {
        Future<Channel> f = cache.connect(bootstrap).awaitUninterruptibly();
        if (!f.isSuccess()) {
          throw new IllegalStateException("connect failed", f.cause());
        }
        channels.add(f.getNow());
        System.out.println(
            "channel "
                + i
                + " -> "
                + greetings.poll(5, TimeUnit.SECONDS)
                + " "
                + NettyConnector.lease(f.getNow()));
      }
      for (Backend b : backends) {
        System.out.println(b.id() + " holds " + lb.activeFlows("cache", b.id()) + " leases");
      }
      for (Channel ch : channels) {
        ch.close().syncUninterruptibly();
      }
      System.out.println(
          "after close: "
              + lb.activeFlows()
              + " flows, cache-0 holds "
              + lb.activeFlows("cache", "cache-0")
              + " leases");
    } finally {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
      for (ServerSocket s : servers) {
        s.close();
      }
    }
  }
}
