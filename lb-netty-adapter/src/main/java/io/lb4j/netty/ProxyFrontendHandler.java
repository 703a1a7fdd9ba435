package io.lb4j.netty;

import io.lb4j.FlowKey;
import io.lb4j.LoadBalancer;
import io.lb4j.Protocol;
import io.lb4j.Selection;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.codec.haproxy.HAProxyCommand;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageEncoder;
import io.netty.handler.codec.haproxy.HAProxyProtocolException;
import io.netty.handler.codec.haproxy.HAProxyProtocolVersion;
import io.netty.handler.codec.haproxy.HAProxyProxiedProtocol;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.NetUtil;
import io.netty.util.ReferenceCountUtil;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The client side of one proxied connection: admits it (source filter, connection limit), selects a
 * backend, connects on the same event loop (retrying on another backend when a connect fails), then
 * relays client bytes to the backend, reading the next only after the last is written.
 *
 * <p>Not thread-safe; confined to the connection's event loop.
 */
final class ProxyFrontendHandler extends ChannelInboundHandlerAdapter {
  private static final Logger logger = LoggerFactory.getLogger(ProxyFrontendHandler.class);

  /** How often an active connection restarts its flow's idle timer in the flow table. */
  private static final long TOUCH_NANOS = 1_000_000_000L;

  private final NettyL4Proxy proxy;
  private final Route route;
  private final LoadBalancer lb;
  private Channel inbound;
  private Channel outbound;
  private FlowKey flow;
  private InetSocketAddress client;
  private InetSocketAddress frontend;
  private InetSocketAddress proxiedDestination; // what the client connected to, for PROXY out
  private Selection selection;
  private Counters backendCounters;
  private int attempts;
  private final Set<String> tried = new HashSet<>(4);
  private boolean admitted;
  private boolean counted; // holds a place in the frontend's connection count
  private boolean backendActive;
  private boolean backendReady;
  private ArrayDeque<Object> early; // client bytes that came before the backend connected
  private boolean clientInputShut;
  private boolean backendInputShut;
  private boolean done;
  private long lastTouch;

  /** Reads the next client bytes once the last ones reached the backend: allocated once. */
  private final ChannelFutureListener readClientNext =
      f -> {
        if (f.isSuccess()) {
          inbound.read();
        } else {
          f.channel().close();
        }
      };

  ProxyFrontendHandler(NettyL4Proxy proxy, Route route) {
    this.proxy = proxy;
    this.route = route;
    this.lb = proxy.loadBalancer();
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    inbound = ctx.channel();
    client = (InetSocketAddress) inbound.remoteAddress();
    frontend = (InetSocketAddress) inbound.localAddress();
    route.frontendCounters().total.increment();
    route.frontendCounters().active.incrementAndGet();
    counted = true;
    if (route.frontendOptions().acceptProxyProtocol()) {
      inbound.read(); // the decoder turns the first bytes into an HAProxyMessage
    } else {
      start(ctx);
    }
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof HAProxyMessage) {
      HAProxyMessage header = (HAProxyMessage) msg;
      try {
        if (header.command() == HAProxyCommand.PROXY && header.sourceAddress() != null) {
          client =
              new InetSocketAddress(
                  InetAddress.getByName(header.sourceAddress()), header.sourcePort());
          proxiedDestination =
              new InetSocketAddress(
                  InetAddress.getByName(header.destinationAddress()), header.destinationPort());
        }
      } catch (java.net.UnknownHostException e) {
        refuse(ctx, "PROXY header with a bad address: " + e.getMessage());
        return;
      } finally {
        header.release();
      }
      start(ctx);
      return;
    }
    if (!backendReady) {
      if (done) {
        ReferenceCountUtil.release(msg);
        return;
      }
      if (early == null) {
        early = new ArrayDeque<>(2);
      }
      early.add(msg); // no further read is asked for until the backend is connected
      return;
    }
    if (msg instanceof ByteBuf) {
      long bytes = ((ByteBuf) msg).readableBytes();
      route.ruleCounters().bytesToBackend.add(bytes);
      backendCounters.bytesToBackend.add(bytes);
    }
    touch();
    outbound.writeAndFlush(msg).addListener(readClientNext);
  }

  /** Admits the connection and starts the first connect. */
  private void start(ChannelHandlerContext ctx) {
    String refusal = route.frontendOptions().refusal(client.getAddress());
    if (refusal != null) {
      refuse(ctx, refusal);
      return;
    }
    int max = route.frontendOptions().maxConnections();
    if (max > 0 && route.frontendCounters().active.get() > max) {
      refuse(ctx, "frontend " + route.frontend() + " is at its limit of " + max + " connections");
      return;
    }
    flow = FlowKey.of(Protocol.TCP, client, frontend);
    selection = lb.select(flow);
    if (!selection.isSelected()) {
      refuse(ctx, selection.toString());
      return;
    }
    admitted = true;
    route.ruleCounters().total.increment();
    route.ruleCounters().active.incrementAndGet();
    if (route.poolAddresses().contains(client.getAddress())) {
      route.ruleCounters().hairpin.increment(); // a backend reaching its own pool: full proxy
    }
    proxy.register(flow, this);
    lastTouch = System.nanoTime();
    connect();
  }

  private void connect() {
    attempts++;
    tried.add(selection.backend().id());
    backendCounters = proxy.backendCounters(route.rule(), selection.backend().id());
    // one Bootstrap per event loop, touched only on that loop: no option maps per connection
    Bootstrap b =
        route
            .bootstraps()
            .computeIfAbsent(
                inbound.eventLoop(),
                loop ->
                    new Bootstrap()
                        .group(loop)
                        .channel(proxy.transport().socketChannel())
                        .option(ChannelOption.AUTO_READ, false)
                        .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                        .option(
                            ChannelOption.CONNECT_TIMEOUT_MILLIS,
                            (int) route.options().connectTimeout().toMillis()));
    b.handler(new ProxyBackendHandler(this));
    ChannelFuture f = b.connect(selection.target());
    outbound = f.channel();
    f.addListener((ChannelFutureListener) this::connected);
  }

  private void connected(ChannelFuture f) {
    String backend = selection.backend().id();
    if (f.isSuccess()) {
      lb.reportConnectSuccess(route.rule(), backend);
      backendCounters.total.increment();
      backendCounters.active.incrementAndGet();
      backendActive = true;
      if (done) {
        outbound.close();
        return;
      }
      if (route.options().sendProxyProtocol() != ProxyProtocol.NONE) {
        outbound.pipeline().addFirst("proxy-protocol", HAProxyMessageEncoder.INSTANCE);
        outbound.write(proxyHeader());
      }
      backendReady = true;
      if (early != null) {
        Object m;
        while ((m = early.poll()) != null) {
          if (m instanceof ByteBuf) {
            long bytes = ((ByteBuf) m).readableBytes();
            route.ruleCounters().bytesToBackend.add(bytes);
            backendCounters.bytesToBackend.add(bytes);
          }
          outbound.write(m);
        }
      }
      outbound.flush();
      if (clientInputShut) {
        shutdownOutput(outbound);
      } else {
        inbound.read();
      }
      outbound.read();
      return;
    }
    lb.reportConnectFailure(route.rule(), backend);
    route.ruleCounters().connectFailures.increment();
    backendCounters.connectFailures.increment();
    logger.debug("connect to {} for {} failed: {}", selection.target(), flow, f.cause().toString());
    if (done || !inbound.isActive()) {
      return;
    }
    Selection next = attempts < route.options().maxConnectAttempts() ? another() : null;
    if (next == null) {
      logger.info(
          "closing {}: {} connect attempts failed, last to {} ({})",
          flow,
          attempts,
          selection.target(),
          f.cause().toString());
      inbound.close(); // promptly: the client learns at once
      return;
    }
    selection = next;
    connect();
  }

  /** Returns a selection on a backend not tried yet, or null when none turns up. */
  private Selection another() {
    for (int k = 1; k <= 16; k++) {
      Selection s = lb.reselect(flow, attempts * 16 + k);
      if (!s.isSelected()) {
        return null;
      }
      if (!tried.contains(s.backend().id())) {
        return s;
      }
    }
    return null;
  }

  private HAProxyMessage proxyHeader() {
    boolean v4 = client.getAddress() instanceof Inet4Address;
    InetSocketAddress destination = proxiedDestination != null ? proxiedDestination : frontend;
    return new HAProxyMessage(
        route.options().sendProxyProtocol() == ProxyProtocol.V1
            ? HAProxyProtocolVersion.V1
            : HAProxyProtocolVersion.V2,
        HAProxyCommand.PROXY,
        v4 ? HAProxyProxiedProtocol.TCP4 : HAProxyProxiedProtocol.TCP6,
        NetUtil.toAddressString(client.getAddress()),
        NetUtil.toAddressString(destination.getAddress()),
        client.getPort(),
        destination.getPort());
  }

  /** Restarts the flow's idle timer in the flow table now and then; closes if it moved. */
  private void touch() {
    long now = System.nanoTime();
    if (now - lastTouch > TOUCH_NANOS) {
      lastTouch = now;
      Selection s = lb.select(flow);
      if (!s.isSelected() || !s.backend().id().equals(selection.backend().id())) {
        // the backend was disabled: the flow was re-assigned, so this connection must end
        inbound.close();
      }
    }
  }

  // ---- from the backend handler

  Channel inbound() {
    return inbound;
  }

  Counters backendCounters() {
    return backendCounters;
  }

  Route route() {
    return route;
  }

  void backendBytes(long bytes) {
    route.ruleCounters().bytesToClient.add(bytes);
    backendCounters.bytesToClient.add(bytes);
  }

  void backendInputShutdown() {
    logger.debug("{}: backend half-closed", flow);
    backendInputShut = true;
    shutdownOutput(inbound);
    closeIfBothShut();
  }

  void backendClosed(Channel ch) {
    if (ch != outbound) {
      return; // an earlier attempt's channel
    }
    if (backendActive) {
      backendActive = false;
      backendCounters.active.decrementAndGet();
    }
    closeOnFlush(inbound);
  }

  // ---- client events

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt instanceof ChannelInputShutdownEvent) {
      logger.debug("{}: client half-closed", flow);
      clientInputShut = true;
      if (backendReady && outbound.isActive()) {
        shutdownOutput(outbound);
      }
      closeIfBothShut();
    } else if (evt instanceof IdleStateEvent) {
      route.ruleCounters().idleTimeouts.increment();
      if (backendCounters != null) {
        backendCounters.idleTimeouts.increment();
      }
      end(route.tcpReset(), "idle for " + route.idleTimeoutNanos() / 1_000_000 + " ms");
    } else {
      ctx.fireUserEventTriggered(evt);
    }
  }

  /** Ends the connection: both sides closed, with a TCP reset when {@code reset}. */
  void end(boolean reset, String why) {
    logger.debug("ending {}: {}{}", flow, why, reset ? " (reset)" : "");
    if (reset) {
      route.ruleCounters().resets.increment();
      if (backendCounters != null) {
        backendCounters.resets.increment();
      }
      resetAndClose(inbound);
      if (outbound != null) {
        resetAndClose(outbound);
      }
    } else {
      inbound.close();
      if (outbound != null) {
        outbound.close();
      }
    }
  }

  private static void resetAndClose(Channel ch) {
    if (ch.isOpen()) {
      ch.config().setOption(ChannelOption.SO_LINGER, 0); // close() then sends RST
      ch.close();
    }
  }

  private void closeIfBothShut() {
    if (clientInputShut && backendInputShut) {
      inbound.close();
      if (outbound != null) {
        outbound.close();
      }
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    done = true;
    release();
    if (early != null) {
      Object m;
      while ((m = early.poll()) != null) {
        ReferenceCountUtil.release(m);
      }
    }
    if (admitted) {
      route.ruleCounters().active.decrementAndGet();
      lb.flowClosed(flow);
      proxy.unregister(flow, this);
    }
    if (outbound != null) {
      closeOnFlush(outbound);
      Channel ch = outbound;
      if (ch.isOpen()) {
        // the client is gone: give the backend the idle timeout to take what is queued, no more;
        // the timer goes when the channel does, or thousands of connections a second would pile
        // up minutes of timers
        ScheduledFuture<?> force =
            ch.eventLoop()
                .schedule(() -> ch.close(), route.idleTimeoutNanos(), TimeUnit.NANOSECONDS);
        ch.closeFuture().addListener(f -> force.cancel(false));
      }
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (cause instanceof HAProxyProtocolException
        || cause.getCause() instanceof HAProxyProtocolException) {
      refuse(ctx, "malformed PROXY header: " + cause.getMessage());
      return;
    }
    logger.debug("client side of {}: {}", flow, cause.toString());
    ctx.close();
  }

  /** Gives back the connection's place in the frontend's count, once. */
  private void release() {
    if (counted) {
      counted = false;
      route.frontendCounters().active.decrementAndGet();
    }
  }

  private void refuse(ChannelHandlerContext ctx, String why) {
    release(); // before the close the client sees: a refused connection takes no place
    route.frontendCounters().refusals.increment();
    route.ruleCounters().refusals.increment();
    logger.debug("refused {} -> {}: {}", client, frontend, why);
    ctx.close();
  }

  static void shutdownOutput(Channel ch) {
    // after what is queued: the peer reads every byte before the FIN
    ch.writeAndFlush(Unpooled.EMPTY_BUFFER)
        .addListener(
            f -> {
              if (ch instanceof DuplexChannel && ch.isActive()) {
                ((DuplexChannel) ch).shutdownOutput();
              }
            });
  }

  static void closeOnFlush(Channel ch) {
    if (ch.isActive()) {
      ch.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
    } else if (ch.isOpen()) {
      ch.close();
    }
  }
}
