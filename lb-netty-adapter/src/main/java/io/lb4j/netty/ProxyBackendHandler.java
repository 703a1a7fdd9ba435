package io.lb4j.netty;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.util.ReferenceCountUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The backend side of one proxied connection: relays backend bytes to the client, reading on while
 * the client's channel is writable (below the write high-water mark), and passes half-close and
 * close on.
 *
 * <p>Not thread-safe; confined to the connection's event loop (the client's).
 */
final class ProxyBackendHandler extends ChannelInboundHandlerAdapter {
  private static final Logger logger = LoggerFactory.getLogger(ProxyBackendHandler.class);

  private final ProxyFrontendHandler frontend;

  ProxyBackendHandler(ProxyFrontendHandler frontend) {
    this.frontend = frontend;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!frontend.inbound().isActive()) {
      logger.debug("backend bytes dropped: the client is gone");
      ReferenceCountUtil.release(msg);
      return;
    }
    if (msg instanceof ByteBuf) {
      frontend.backendBytes(((ByteBuf) msg).readableBytes());
    }
    // the client's channelWritabilityChanged reads on when it stops
    ProxyFrontendHandler.relay(msg, ctx.channel(), frontend.inbound());
  }

  /** The backend's channel drained below the low-water mark: the client's bytes flow again. */
  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (ctx.channel().isWritable()) {
      frontend.backendWritable();
    }
    ctx.fireChannelWritabilityChanged();
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt instanceof ChannelInputShutdownEvent) {
      frontend.backendInputShutdown();
    } else {
      ctx.fireUserEventTriggered(evt);
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    frontend.backendClosed(ctx.channel());
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (logger.isDebugEnabled()) {
      logger.debug(
          "backend side of a connection of rule {}: {}", frontend.route().rule(), cause.toString());
    }
    frontend.backendError(ctx.channel(), cause);
    ctx.close();
  }
}
