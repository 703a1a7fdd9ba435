import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollMode;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;

/**
 * The ceiling of a splice(2) relay in Netty: one listener, one backend, one event loop, each
 * connection's two sockets joined with {@code EpollSocketChannel.spliceTo} both ways (level-
 * triggered epoll, as spliceTo requires), nothing else: no balancing, no counters, no idle timer,
 * no connection log. Issue 17 measured it against lb4j's relay and HAProxy with and without
 * {@code option splice-auto} ({@code benchmarks/splice.py}, docs/benchmarks.md) to decide whether a
 * splice mode is worth building into the proxy. A single-file program, run on purpose, not in the
 * build; loopback only.
 *
 * <pre>{@code
 * java -cp lb-proxy/target/lb4j-proxy.jar benchmarks/SpliceRelay.java 9301 127.0.0.2 5201
 * }</pre>
 */
public class SpliceRelay {
  public static void main(String[] args) throws Exception {
    if (args.length != 3) {
      System.err.println("usage: SpliceRelay LISTEN_PORT BACKEND_HOST BACKEND_PORT");
      System.exit(2);
    }
    int port = Integer.parseInt(args[0]);
    String backendHost = args[1];
    int backendPort = Integer.parseInt(args[2]);
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
    ServerBootstrap server =
        new ServerBootstrap()
            .group(group)
            .channel(EpollServerSocketChannel.class)
            .childOption(EpollChannelOption.EPOLL_MODE, EpollMode.LEVEL_TRIGGERED)
            .childOption(ChannelOption.AUTO_READ, false)
            .childHandler(
                new ChannelInitializer<EpollSocketChannel>() {
                  @Override
                  protected void initChannel(EpollSocketChannel client) {
                    new Bootstrap()
                        .group(client.eventLoop()) // spliceTo needs both on one loop
                        .channel(EpollSocketChannel.class)
                        .option(EpollChannelOption.EPOLL_MODE, EpollMode.LEVEL_TRIGGERED)
                        .option(ChannelOption.AUTO_READ, false)
                        .handler(new ChannelInboundHandlerAdapter())
                        .connect(backendHost, backendPort)
                        .addListener(
                            (ChannelFutureListener)
                                f -> {
                                  if (!f.isSuccess()) {
                                    client.close();
                                    return;
                                  }
                                  EpollSocketChannel backend = (EpollSocketChannel) f.channel();
                                  ChannelFutureListener closeBoth =
                                      done -> {
                                        client.close();
                                        backend.close();
                                      };
                                  client.spliceTo(backend, Integer.MAX_VALUE).addListener(closeBoth);
                                  backend.spliceTo(client, Integer.MAX_VALUE).addListener(closeBoth);
                                  client.config().setAutoRead(true); // reads now splice
                                  backend.config().setAutoRead(true);
                                });
                  }
                });
    server.bind("127.0.0.1", port).sync().channel().closeFuture().sync();
  }
}
