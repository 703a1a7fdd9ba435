package io.lb4j.netty;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.lb4j.Backend;
import io.lb4j.core.L4LoadBalancer;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * A ramp to {@value #CONNECTIONS} concurrent connections on loopback, opened as fast as one thread
 * can, each echoing once and then held: no client may be left hanging.
 */
class ConnectionRampTest {
  private static final int CONNECTIONS = 2_000;
  private static final long DEADLINE_NANOS = TimeUnit.SECONDS.toNanos(30);
  private static final byte[] PING = "ping\n".getBytes(US_ASCII);

  @AfterAll
  static void noLeaks() {
    assertEquals(List.of(), LeakRecorder.collect(), "Netty reported leaked buffers");
  }

  @Test
  void ramp_twoThousandConcurrentConnections_noClientLeftHanging() throws Exception {
    EventLoopGroup echoGroup = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    Channel echo =
        new ServerBootstrap()
            .group(echoGroup)
            .channel(NioServerSocketChannel.class)
            .option(ChannelOption.SO_BACKLOG, 4096)
            .childHandler(
                new ChannelInboundHandlerAdapter() {
                  @Override
                  public boolean isSharable() {
                    return true;
                  }

                  @Override
                  public void channelRead(ChannelHandlerContext ctx, Object msg) {
                    ctx.writeAndFlush(msg);
                  }
                })
            .bind(new InetSocketAddress("127.0.0.2", 0))
            .sync()
            .channel();
    int echoPort = ((InetSocketAddress) echo.localAddress()).getPort();
    int port = TestServer.freePort("127.0.0.1");
    L4LoadBalancer lb =
        L4LoadBalancer.builder()
            .config(
                ProxyFixture.oneRule(
                        port, List.of(Backend.of("web-0", "127.0.0.2", echoPort)), r -> r)
                    .build())
            .build();
    NettyL4Proxy proxy =
        NettyL4Proxy.builder()
            .loadBalancer(lb)
            .ioThreads(2)
            .transport(ProxyFixture.transport)
            .build()
            .start();
    List<SocketChannel> clients = new ArrayList<>(CONNECTIONS);
    try (Selector selector = Selector.open()) {
      InetSocketAddress frontend = new InetSocketAddress("127.0.0.1", port);
      for (int i = 0; i < CONNECTIONS; i++) {
        SocketChannel c = SocketChannel.open();
        clients.add(c);
        // sources spread over 127.0.0.100-199: no source runs short of ephemeral ports
        c.bind(new InetSocketAddress(InetAddress.getByName("127.0.0." + (100 + i % 100)), 0));
        c.configureBlocking(false);
        c.connect(frontend);
        c.register(selector, SelectionKey.OP_CONNECT, new Client());
      }
      int echoed = 0;
      int failed = 0;
      long deadline = System.nanoTime() + DEADLINE_NANOS;
      while (echoed + failed < CONNECTIONS && System.nanoTime() < deadline) {
        selector.select(100);
        for (SelectionKey k : selector.selectedKeys()) {
          Client state = (Client) k.attachment();
          SocketChannel c = (SocketChannel) k.channel();
          try {
            if (k.isConnectable() && c.finishConnect()) {
              c.write(ByteBuffer.wrap(PING));
              k.interestOps(SelectionKey.OP_READ);
            } else if (k.isReadable()) {
              if (c.read(state.in) < 0) {
                failed++;
                k.cancel();
              } else if (state.in.position() == PING.length) {
                echoed++;
                k.interestOps(0); // held open until the end of the test
              }
            }
          } catch (IOException e) {
            failed++;
            k.cancel();
          }
        }
        selector.selectedKeys().clear();
      }
      assertEquals(
          "echoed " + CONNECTIONS + ", failed 0, hanging 0",
          "echoed "
              + echoed
              + ", failed "
              + failed
              + ", hanging "
              + (CONNECTIONS - echoed - failed),
          "after at most 30 s");
      assertEquals(CONNECTIONS, proxy.ruleCounters("app").activeConnections());
    } finally {
      for (SocketChannel c : clients) {
        c.close();
      }
      proxy.close();
      lb.close();
      echo.close().sync();
      echoGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }
  }

  private static final class Client {
    final ByteBuffer in = ByteBuffer.allocate(PING.length);
  }
}
