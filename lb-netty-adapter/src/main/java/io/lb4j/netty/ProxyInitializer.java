package io.lb4j.netty;

import io.netty.channel.ChannelInitializer;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.timeout.IdleStateHandler;
import java.util.concurrent.TimeUnit;

/**
 * Sets up an accepted connection: the PROXY header decoder, with its deadline, when the frontend
 * expects one, the idle timer, the frontend handler.
 *
 * <p>Thread-safe: one instance serves a listener's connections on every event loop.
 */
final class ProxyInitializer extends ChannelInitializer<SocketChannel> {
  private final NettyL4Proxy proxy;
  private final String rule;

  ProxyInitializer(NettyL4Proxy proxy, String rule) {
    this.proxy = proxy;
    this.rule = rule;
  }

  @Override
  protected void initChannel(SocketChannel ch) {
    Route route = proxy.route(rule);
    if (route == null) {
      ch.close(); // the rule went away in a reload between accept and here
      return;
    }
    if (route.frontendOptions().acceptProxyProtocol()) {
      long deadline = route.frontendOptions().proxyProtocolTimeout().toNanos(); // at most 1 h
      ch.pipeline().addLast("proxy-protocol", new ProxyProtocolDecoder(route, deadline));
    }
    ch.pipeline()
        .addLast(
            "idle", new IdleStateHandler(0, 0, route.idleTimeoutNanos(), TimeUnit.NANOSECONDS));
    ch.pipeline().addLast("frontend", new ProxyFrontendHandler(proxy, route));
  }
}
