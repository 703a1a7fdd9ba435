package io.lb4j.netty;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.util.ReferenceCountUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The backend side of one proxied connection: relays backend bytes to the client, reading the next
 * only after the last is written, and passes half-close and close on.
 *
 * <p>Not thread-safe; confined to the connection's event loop (the client's).
 */
final class ProxyBackendHandler extends ChannelInboundHandlerAdapter {
  private static final Logger logger = LoggerFactory.getLogger(ProxyBackendHandler.class);

  private final ProxyFrontendHandler frontend;
  private ChannelHandlerContext context;

  /** Reads the next backend bytes once the last ones reached the client: allocated once. */
  private final ChannelFutureListener readBackendNext =
      f -> {
        if (f.isSuccess()) {
          context.channel().read();
        } else {
          f.channel().close();
        }
      };

  ProxyBackendHandler(ProxyFrontendHandler frontend) {
    this.frontend = frontend;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    context = ctx;
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
    frontend.inbound().writeAndFlush(msg).addListener(readBackendNext);
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
