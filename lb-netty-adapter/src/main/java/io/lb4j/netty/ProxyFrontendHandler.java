package io.lb4j.netty;

import io.lb4j.FlowKey;
import io.lb4j.LoadBalancer;
import io.lb4j.Protocol;
import io.lb4j.Selection;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.channel.unix.Socket;
import io.netty.channel.unix.UnixChannel;
import io.netty.handler.codec.haproxy.HAProxyCommand;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageEncoder;
import io.netty.handler.codec.haproxy.HAProxyProtocolVersion;
import io.netty.handler.codec.haproxy.HAProxyProxiedProtocol;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.NetUtil;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.nio.channels.NotYetConnectedException;
import java.util.ArrayDeque;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The client side of one proxied connection: admits it (source filter, connection limit), selects a
 * backend, connects on the same event loop (retrying per the route's {@link ConnectRetryPolicy}),
 * then relays client bytes to the backend: it reads on while the backend's channel is writable, so
 * at most the write high-water mark (64 KiB, Netty's default) plus one read is queued per
 * direction, and the channel's writability change resumes reading.
 *
 * <p>The connection's life is one {@link State}; the transitions are listed there. Everything a
 * connection needs by name (counters, options, retry policy) was resolved into its {@link Route}
 * when the route was built, so setting up a connection allocates only the channel, its handlers,
 * the flow key and the flow's entries in the balancer's flow table and the proxy's connection
 * registry; relaying allocates nothing of its own.
 *
 * <p>The handler is its own connect listener, so a connect attempt allocates no listener either.
 *
 * <p>When the connection ends, the first cause seen (a refusal, the last connect failure, the idle
 * timeout, a reset by either side, the balancer or the operator ending it) becomes its {@link
 * Termination}; at the client's close one {@link ConnectionRecord} goes to the connection log
 * ({@link AccessLog}, when the rule has it on) and the {@link ConnectionListener}s, and only then
 * is it built: with neither, a connection pays for a few plain fields (timestamps and byte counts)
 * and nothing else.
 *
 * <p>Why one class of about 800 lines: it is the one state machine of a client connection —
 * selection, connect and retry, relay, half-close, idle timeout, drain, and how each ended — and
 * its transitions read best side by side; the PROXY header, the retry decision, the backend side
 * and the log line are already their own classes.
 *
 * <p>Not thread-safe; confined to the connection's event loop.
 */
final class ProxyFrontendHandler extends ChannelInboundHandlerAdapter
    implements ChannelFutureListener {
  private static final Logger logger = LoggerFactory.getLogger(ProxyFrontendHandler.class);

  /** How often an active connection restarts its flow's idle timer in the flow table. */
  private static final long TOUCH_NANOS = 1_000_000_000L;

  /** The client's FIN, queued behind the bytes that came before the backend connected. */
  private static final Object CLIENT_FIN = new Object();

  /** Shuts the output of the write's channel once what was queued before it is written. */
  private static final ChannelFutureListener SHUTDOWN_OUTPUT =
      f -> {
        Channel ch = f.channel();
        if (!f.isSuccess()) {
          // a write that failed (a reset the write saw first) closes the channel without an
          // exceptionCaught of its own: record it, or the close would read as the second FIN
          ch.pipeline().fireExceptionCaught(f.cause());
        } else if (ch.isActive() && sendFin(ch)) {
          // everything queued is written and the FIN is out: the peer's FIN, when it comes, ends
          // the connection. The channel closes on it instead of shutting its input down (which on
          // Linux fails with ENOTCONN once our FIN was answered, and Netty turns into a
          // NotYetConnectedException per connection); the handler sees channelInactive with no
          // error recorded in CLIENT_SHUT or BACKEND_SHUT: the second FIN. Not earlier: while
          // bytes wait to be written a close would drop them, so a FIN that comes before ours
          // still shuts the input (clientInputShutdown, backendInputShutdown).
          ch.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, false);
        }
      };

  /**
   * Sends {@code ch}'s FIN: {@code shutdown(SHUT_WR)}. On the native transports (epoll, io_uring)
   * straight on the socket, which updates the state {@code isOutputShutdown()} reads: Netty's
   * {@link DuplexChannel#shutdownOutput()} also fails its (here empty) outbound queue with a new
   * {@code ChannelOutputShutdownException}, whose stack trace alone was 3% of the proxy's CPU per
   * new connection (issue 17's profile). No byte is written to {@code ch} after its FIN (the other
   * side has ended; a close may still flush an empty buffer), so the queue Netty would have closed
   * is never used again. A failure (the peer reset meanwhile) goes to the pipeline as an error.
   *
   * @return whether the FIN was sent
   */
  static boolean sendFin(Channel ch) {
    if (ch instanceof UnixChannel && ((UnixChannel) ch).fd() instanceof Socket) {
      try {
        ((Socket) ((UnixChannel) ch).fd()).shutdown(false, true);
        return true;
      } catch (IOException | NotYetConnectedException e) {
        ch.pipeline().fireExceptionCaught(e); // ENOTCONN: a reset not read yet
        return false;
      }
    }
    if (ch instanceof DuplexChannel) {
      ((DuplexChannel) ch)
          .shutdownOutput()
          .addListener(ChannelFutureListener.FIRE_EXCEPTION_ON_FAILURE);
      return true;
    }
    return false;
  }

  /**
   * Where a connection is in its life. Transitions (an event not listed leaves the state as it is):
   *
   * <pre>
   * NEW             -- channel active ----------------> AWAITING_HEADER (frontend expects PROXY)
   *                                                      else admission:
   * admission       -- source denied, at the limit,
   *                    or no backend selected --------> REFUSED
   *                 -- admitted -----------------------> CONNECTING
   * AWAITING_HEADER -- ProxiedAddresses event ---------> admission (a bad header: the decoder closes)
   * CONNECTING      -- connect failed, policy retries -> CONNECTING (next backend)
   *                 -- connect failed, no retry -------> CLOSING
   *                 -- connected ----------------------> RELAYING, or CLIENT_SHUT when the
   *                                                      client's FIN was queued meanwhile
   * RELAYING        -- client FIN ---------------------> CLIENT_SHUT  (FIN passed to the backend)
   *                 -- backend FIN --------------------> BACKEND_SHUT (FIN passed to the client)
   * CLIENT_SHUT     -- backend FIN --------------------> CLOSING
   * BACKEND_SHUT    -- client FIN ---------------------> CLOSING
   * any but CLOSED  -- end(): idle timeout, flows ended
   *                    by the balancer, shutdown,
   *                    backend DISABLED; backend closed -> CLOSING
   * any             -- channel inactive ---------------> CLOSED
   * </pre>
   *
   * <p>A connection holds a place in its frontend's connection count from NEW until REFUSED or
   * CLOSED; it holds its flow (flow table entry, rule's active count, registry entry) from
   * CONNECTING until CLOSED.
   */
  enum State {
    /** Created; the channel is not active yet. */
    NEW,
    /** Waiting for the upstream balancer's PROXY header; no client byte reaches this handler. */
    AWAITING_HEADER,
    /** Admitted, flow selected; a connect to a backend is in flight; client bytes are queued. */
    CONNECTING,
    /** Both sides connected; bytes flow both ways, each side read while the other is writable. */
    RELAYING,
    /** The client sent FIN and it was passed on; the backend's bytes still flow to the client. */
    CLIENT_SHUT,
    /** The backend sent FIN and it was passed on; the client's bytes still flow to the backend. */
    BACKEND_SHUT,
    /** Refused at admission; the channel is closing and holds no place. */
    REFUSED,
    /** Ending: both channels are being closed (or reset). */
    CLOSING,
    /** The client's channel is closed; the flow is released. */
    CLOSED
  }

  private final NettyL4Proxy proxy;
  private final Route route;
  private final LoadBalancer lb;
  private State state = State.NEW;
  private Channel inbound;
  private Channel outbound;
  private FlowKey flow; // set on admission
  private InetSocketAddress client;
  private InetSocketAddress frontend;
  private InetSocketAddress proxiedDestination; // what the client connected to, for PROXY out
  private Selection selection;
  private Counters backendCounters; // of the backend of the current attempt
  private Counters activeOn; // the backend counters whose active count this connection holds
  private int attempts;
  private SourcePorts.Target portTarget; // the backend address and port of the current attempt
  private int sourceIndex = -1; // the route's source address of the current attempt, or -1
  private SourcePorts.PortRing heldRing; // the ring whose port the current attempt holds
  private int heldPort;
  private SourcePorts.Slot openSlot; // the source-port slot whose open count this connection holds
  private String[] tried; // backends tried, allocated on the first failed connect
  private ArrayDeque<Object> early; // client bytes (and FIN) that came before the backend connected
  private long lastTouch;

  // for the connection log and ConnectionListeners: plain fields, read once at the end
  private long acceptNanos;
  private long firstConnectNanos; // when the first connect attempt began
  private long attemptNanos; // when the current connect attempt began
  private long connectedNanos = -1; // from the first attempt to the established connection
  private long bytesToBackend;
  private long bytesToClient;
  private Termination termination; // the first cause of the end; null until one strikes
  private RefusalReason refusal;
  private Object endDetail; // a String or a Throwable, turned into text only for a record
  private boolean reset; // the proxy ended the connection with a TCP reset

  ProxyFrontendHandler(NettyL4Proxy proxy, Route route) {
    this.proxy = proxy;
    this.route = route;
    this.lb = proxy.loadBalancer();
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    inbound = ctx.channel();
    acceptNanos = System.nanoTime();
    client = (InetSocketAddress) inbound.remoteAddress();
    frontend = (InetSocketAddress) inbound.localAddress();
    route.frontendCounters().total.increment();
    route.frontendCounters().active.incrementAndGet(); // the place, given back at REFUSED/CLOSED
    if (route.frontendOptions().acceptProxyProtocol()) {
      state = State.AWAITING_HEADER;
      inbound.read(); // the decoder reads on until the header is complete
    } else {
      admit(ctx);
    }
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    switch (state) {
      case RELAYING:
      case BACKEND_SHUT:
        if (msg instanceof ByteBuf) {
          long bytes = ((ByteBuf) msg).readableBytes();
          route.ruleCounters().bytesToBackend.add(bytes);
          backendCounters.bytesToBackend.add(bytes);
          bytesToBackend += bytes;
        }
        touch();
        relay(msg, inbound, outbound); // outbound's writability change reads on (backendWritable)
        return;
      case CONNECTING:
        if (early == null) {
          early = new ArrayDeque<>(2);
        }
        early.add(msg); // no further read is asked for until the backend is connected
        return;
      default:
        ReferenceCountUtil.release(msg); // refused or ending: nowhere to go
    }
  }

  /** Admits the connection and starts the first connect: NEW/AWAITING_HEADER to CONNECTING. */
  private void admit(ChannelHandlerContext ctx) {
    FrontendOptions options = route.frontendOptions();
    Cidr denied = options.deniedBy(client.getAddress());
    if (denied != null) {
      refuse(ctx, RefusalReason.DENY_LIST, denied.toString());
      return;
    }
    if (!options.allows(client.getAddress())) {
      refuse(ctx, RefusalReason.NOT_IN_ALLOW_LIST, options.allow().toString());
      return;
    }
    int max = options.maxConnections();
    if (max > 0 && route.frontendCounters().active.get() > max) {
      refuse(ctx, RefusalReason.CONNECTION_LIMIT, Integer.toString(max));
      return;
    }
    FlowKey key = FlowKey.of(Protocol.TCP, client, frontend);
    Selection s = lb.select(key);
    if (!s.isSelected()) {
      refuse(ctx, RefusalReason.NO_BACKEND, s.status() + ": " + s.detail());
      return;
    }
    flow = key;
    selection = s;
    state = State.CONNECTING;
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
    attemptNanos = System.nanoTime();
    if (attempts == 1) {
      firstConnectNanos = attemptNanos;
    }
    String backend = selection.backend().id();
    backendCounters = route.backend(backend);
    InetSocketAddress remote = selection.target();
    portTarget = proxy.sourcePorts().target(remote);
    portTarget.usedBy(route.rule(), backend);
    InetSocketAddress local = null;
    SourcePorts.Picker sources = route.sources();
    sourceIndex = sources == null ? -1 : sources.pick(portTarget);
    if (sourceIndex >= 0) {
      SourcePorts.PortRing ring = sources.rings[sourceIndex];
      if (ring == null) {
        local = sources.unbound[sourceIndex];
      } else {
        int port = ring.take();
        if (port == 0) {
          // every port of the source's own range is held: no connect can succeed from it
          outbound = null;
          connectFailed(new SourcePorts.SourcePortsExhaustedException(ring.source));
          return;
        }
        heldRing = ring;
        heldPort = port;
        local = new InetSocketAddress(sources.sources[sourceIndex].address(), port);
      }
    }
    EventLoop loop = inbound.eventLoop();
    Bootstrap b = route.bootstraps().get(loop);
    if (b == null) {
      b = bootstrap(loop);
    }
    b.handler(new ProxyBackendHandler(this));
    ChannelFuture f = local == null ? b.connect(remote) : b.connect(remote, local);
    outbound = f.channel();
    f.addListener(this);
  }

  /** Gives the port of the current attempt back to its source's ring, once. */
  private void releasePort() {
    if (heldRing != null) {
      heldRing.give(heldPort);
      heldRing = null;
    }
  }

  /** Returns the backend Bootstrap of {@code loop}, built on the loop's first connection. */
  private Bootstrap bootstrap(EventLoop loop) {
    // one per event loop, touched only on that loop: no option maps per connection
    Bootstrap b =
        new Bootstrap()
            .group(loop)
            .channel(proxy.transport().socketChannel())
            .option(ChannelOption.AUTO_READ, false)
            .option(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT) // as the client's
            .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
            .option(
                ChannelOption.CONNECT_TIMEOUT_MILLIS,
                (int) route.options().connectTimeout().toMillis());
    if (route.sources() != null) {
      // a source's own port may be in TIME_WAIT from its last connection: the kernel still
      // refuses a 4-tuple in use (EADDRNOTAVAIL at connect)
      b.option(ChannelOption.SO_REUSEADDR, true);
      ChannelOption<Integer> noPort = proxy.transport().bindAddressNoPort();
      if (noPort != null) {
        // bind(address, 0) leaves the port to connect, which picks it per backend address and
        // port instead of one per address for all backends
        b.option(noPort, 1);
      }
    }
    route.bootstraps().put(loop, b);
    return b;
  }

  /** The connect of the current attempt completed. */
  @Override
  public void operationComplete(ChannelFuture f) {
    String backend = selection.backend().id();
    if (f.isSuccess()) {
      long now = System.nanoTime();
      connectedNanos = now - firstConnectNanos;
      connected(backend, now - attemptNanos);
      lb.reportConnectSuccess(route.rule(), backend);
      backendCounters.total.increment();
      backendCounters.active.incrementAndGet();
      activeOn = backendCounters;
      InetSocketAddress local = (InetSocketAddress) outbound.localAddress();
      if (local != null) {
        openSlot = portTarget.opened(local.getAddress());
      }
      if (state != State.CONNECTING) {
        outbound.close(); // the client went meanwhile
        return;
      }
      if (route.options().sendProxyProtocol() != ProxyProtocol.NONE) {
        outbound.pipeline().addFirst("proxy-protocol", HAProxyMessageEncoder.INSTANCE);
        // void promises: a failed write reaches the backend handler's exceptionCaught
        outbound.write(proxyHeader(), outbound.voidPromise());
      }
      boolean clientShut = writeEarly();
      outbound.flush();
      if (clientShut) {
        state = State.CLIENT_SHUT;
        shutdownOutput(outbound);
      } else {
        state = State.RELAYING;
        inbound.read();
      }
      outbound.read();
      return;
    }
    connectFailed(f.cause());
  }

  /** The current attempt failed: count, then retry on another backend or close the client. */
  private void connectFailed(Throwable cause) {
    String backend = selection.backend().id();
    boolean ownPort = heldRing != null;
    releasePort();
    route.ruleCounters().connectFailures.increment();
    backendCounters.connectFailures.increment();
    if (SourcePorts.isExhaustion(cause, ownPort)) {
      // the proxy's ports ran out, not the backend: no passive-health strike against it
      route.ruleCounters().sourcePortFailures.increment();
      backendCounters.sourcePortFailures.increment();
      portTarget.exhausted(
          sourceIndex >= 0 ? route.sources().sources[sourceIndex].address() : null, cause);
    } else {
      lb.reportConnectFailure(route.rule(), backend);
    }
    if (logger.isDebugEnabled()) {
      logger.debug("connect to {} for {} failed: {}", selection.target(), flow, cause);
    }
    if (state != State.CONNECTING || !inbound.isActive()) {
      return;
    }
    if (tried == null) {
      tried = new String[route.retry().maxAttempts()];
    }
    tried[attempts - 1] = backend;
    Selection next = route.retry().next(lb, flow, attempts, tried);
    if (next == null) {
      terminate(
          SourcePorts.isExhaustion(cause, ownPort)
              ? Termination.NO_SOURCE_PORT
              : cause instanceof ConnectTimeoutException
                  ? Termination.CONNECT_TIMEOUT
                  : Termination.CONNECT_FAILED,
          cause);
      // not a line per connection: once per set of failed backends, with a count
      route.retry().gaveUp(route.rule(), flow, attempts, tried, selection.target(), cause);
      state = State.CLOSING;
      inbound.close(); // promptly: the client learns at once
      return;
    }
    selection = next;
    connect();
  }

  /**
   * Writes what the client sent before the backend connected, in order; returns whether the
   * client's FIN was among it.
   */
  private boolean writeEarly() {
    if (early == null) {
      return false;
    }
    boolean fin = false;
    Object m;
    while ((m = early.poll()) != null) {
      if (m == CLIENT_FIN) {
        fin = true;
        continue;
      }
      if (m instanceof ByteBuf) {
        long bytes = ((ByteBuf) m).readableBytes();
        route.ruleCounters().bytesToBackend.add(bytes);
        backendCounters.bytesToBackend.add(bytes);
        bytesToBackend += bytes;
      }
      outbound.write(m, outbound.voidPromise());
    }
    return fin;
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
        terminate(Termination.KILLED, "backend disabled: the flow was moved off it");
        state = State.CLOSING;
        inbound.close();
      }
    }
  }

  // ---- from the backend handler

  Channel inbound() {
    return inbound;
  }

  /** The connection's state's name, for tests; read it on the connection's event loop. */
  String stateName() {
    return state.name();
  }

  Route route() {
    return route;
  }

  void backendBytes(long bytes) {
    route.ruleCounters().bytesToClient.add(bytes);
    backendCounters.bytesToClient.add(bytes);
    bytesToClient += bytes;
  }

  /** The backend's channel of the current attempt failed with {@code cause}. */
  void backendError(Channel ch, Throwable cause) {
    if (ch == outbound && relaying()) {
      terminate(Termination.BACKEND_ABORTED, cause);
    }
  }

  /** Whether both sides were connected and at least one direction still open. */
  private boolean relaying() {
    return state == State.RELAYING || state == State.CLIENT_SHUT || state == State.BACKEND_SHUT;
  }

  void backendInputShutdown() {
    logger.debug("{}: backend half-closed", flow);
    if (state == State.RELAYING) {
      state = State.BACKEND_SHUT;
      shutdownOutput(inbound);
    } else if (state == State.CLIENT_SHUT) {
      bothFinsSeen();
    }
  }

  void backendClosed(Channel ch) {
    if (ch != outbound) {
      return; // an earlier attempt's channel
    }
    if (state == State.CLIENT_SHUT && termination == null && finSent(ch)) {
      // the backend's FIN after the client's, passed on (SHUTDOWN_OUTPUT turned half-closure
      // off): both directions ended normally
      state = State.CLOSING;
    } else if (relaying()) {
      // closed under the relay, not by a FIN each way: a reset, or a write that failed
      terminate(Termination.BACKEND_ABORTED, "backend closed the connection");
    }
    if (activeOn != null) {
      activeOn.active.decrementAndGet();
      activeOn = null;
    }
    if (openSlot != null) {
      openSlot.open.decrementAndGet();
      if (openSlot.full) {
        openSlot.full = false; // a port of this source and target is free again
      }
      openSlot = null;
    }
    releasePort();
    if (state != State.CLOSED) {
      state = State.CLOSING;
    }
    closeOnFlush(inbound);
  }

  // ---- client events

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt instanceof ProxiedAddresses) {
      if (state == State.AWAITING_HEADER) {
        ProxiedAddresses a = (ProxiedAddresses) evt;
        if (a.source() != null) {
          client = a.source();
          proxiedDestination = a.destination();
        }
        admit(ctx);
      }
    } else if (evt instanceof HeaderRefused) {
      HeaderRefused r = (HeaderRefused) evt;
      refusal = r.reason();
      terminate(
          r.reason() == RefusalReason.PROXY_HEADER_TIMEOUT
              ? Termination.HEADER_TIMEOUT
              : Termination.REFUSED,
          r.match());
    } else if (evt instanceof ChannelInputShutdownEvent) {
      clientInputShutdown();
    } else if (evt instanceof IdleStateEvent) {
      route.ruleCounters().idleTimeouts.increment();
      if (backendCounters != null) {
        backendCounters.idleTimeouts.increment();
      }
      end(
          route.tcpReset(),
          route.idleReason(),
          Termination.IDLE_TIMEOUT); // the reason is built once per route, with the reset
    } else {
      ctx.fireUserEventTriggered(evt);
    }
  }

  private void clientInputShutdown() {
    logger.debug("{}: client half-closed", flow);
    switch (state) {
      case CONNECTING:
        if (early == null) {
          early = new ArrayDeque<>(2);
        }
        early.add(CLIENT_FIN); // passed on in order once the backend is connected
        break;
      case RELAYING:
        state = State.CLIENT_SHUT;
        shutdownOutput(outbound);
        break;
      case BACKEND_SHUT:
        bothFinsSeen();
        break;
      default:
        // AWAITING_HEADER: the decoder closes; REFUSED, CLOSING, CLOSED: closing already
    }
  }

  /**
   * Ends the connection: both sides closed, with a TCP reset when {@code reset}; {@code cause} is
   * the data-phase code of the connection log, {@code why} its detail.
   */
  void end(boolean reset, String why, Termination cause) {
    if (state == State.CLOSED) {
      return;
    }
    terminate(phase(state, cause), why);
    this.reset |= reset;
    if (logger.isDebugEnabled()) {
      logger.debug("ending {}: {}{}", flow, why, reset ? " (reset)" : "");
    }
    state = State.CLOSING;
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
      closeBoth();
    }
  }

  private static void resetAndClose(Channel ch) {
    if (ch.isOpen()) {
      ch.config().setOption(ChannelOption.SO_LINGER, 0); // close() then sends RST
      ch.close();
    }
  }

  /**
   * A side's FIN came before lb4j's FIN to it was out (its half-closure still on): close both once
   * written (close sends the FIN); a shutdownOutput first would cost a syscall for nothing.
   */
  private void bothFinsSeen() {
    state = State.CLOSING;
    closeOnFlush(inbound);
    closeOnFlush(outbound);
  }

  private void closeBoth() {
    inbound.close();
    if (outbound != null) {
      outbound.close();
    }
  }

  /** Records {@code cause} as what ended the connection, unless an earlier cause did. */
  private void terminate(Termination cause, Object detail) {
    if (termination == null) {
      termination = cause;
      endDetail = detail;
    }
  }

  /** Returns data-phase {@code cause} as it reads in state {@code at}. */
  private static Termination phase(State at, Termination cause) {
    switch (at) {
      case CONNECTING:
        return cause.whileConnecting();
      case NEW:
      case AWAITING_HEADER:
        return cause == Termination.IDLE_TIMEOUT
            ? Termination.HEADER_TIMEOUT
            : cause == Termination.CLIENT_ABORTED ? Termination.CLIENT_CLOSED_BEFORE_HEADER : cause;
      default:
        return cause;
    }
  }

  /**
   * Hands the ended connection to the connection log and the listeners: one record, built only when
   * one of them wants it. A connection whose end nobody explained was ended by its client (the
   * close, in the state it was in) or, after a FIN each way, normally.
   */
  private void ended(State was) {
    ConnectionListener[] listeners = proxy.connectionListeners();
    boolean log = route.options().accessLog();
    if (!log && listeners.length == 0) {
      return;
    }
    Termination t = termination;
    if (t == null) {
      t = was == State.CLOSING ? Termination.NORMAL : phase(was, Termination.CLIENT_ABORTED);
    }
    Object d = endDetail;
    String detail =
        d instanceof Throwable
            ? (((Throwable) d).getMessage() != null ? ((Throwable) d).getMessage() : d.toString())
            : (String) d;
    if (reset) {
      detail = detail == null ? "reset" : detail + ", reset";
    }
    ConnectionRecord r =
        new ConnectionRecord(
            route.rule(),
            route.frontend(),
            client,
            frontend,
            selection == null ? null : selection.backend().id(),
            selection == null ? null : selection.target(),
            connectedNanos,
            System.nanoTime() - acceptNanos,
            bytesToBackend,
            bytesToClient,
            attempts,
            t,
            refusal,
            detail);
    if (log) {
      AccessLog.log(r);
    }
    for (int i = 0; i < listeners.length; i++) {
      try {
        listeners[i].onConnectionEnded(r);
      } catch (RuntimeException e) {
        proxy.listenerFailed(listeners[i], e);
      }
    }
  }

  /** Tells the listeners that a connect to {@code backend} succeeded after {@code nanos}. */
  private void connected(String backend, long nanos) {
    ConnectionListener[] listeners = proxy.connectionListeners();
    for (int i = 0; i < listeners.length; i++) {
      try {
        listeners[i].onConnected(route.rule(), backend, nanos);
      } catch (RuntimeException e) {
        proxy.listenerFailed(listeners[i], e);
      }
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    State was = state;
    if (was == State.BACKEND_SHUT && termination == null && finSent(ctx.channel())) {
      // the client's FIN after the backend's, passed on (SHUTDOWN_OUTPUT turned half-closure off;
      // a reset or a failed write would have been recorded by exceptionCaught first): ended
      // normally
      was = State.CLOSING;
    }
    state = State.CLOSED;
    if (was != State.REFUSED) {
      route.frontendCounters().active.decrementAndGet(); // a refusal gave its place back already
    }
    if (early != null) {
      Object m;
      while ((m = early.poll()) != null) {
        ReferenceCountUtil.release(m);
      }
    }
    if (flow != null) {
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
    ended(was);
  }

  /**
   * The client's channel drained below the low-water mark after a backend read stopped at the
   * high-water mark: the backend's bytes flow again.
   */
  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (ctx.channel().isWritable() && (state == State.RELAYING || state == State.CLIENT_SHUT)) {
      outbound.read();
    }
    ctx.fireChannelWritabilityChanged();
  }

  /** The backend's channel drained below the low-water mark: the client's bytes flow again. */
  void backendWritable() {
    if (state == State.RELAYING || state == State.BACKEND_SHUT) {
      inbound.read();
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (logger.isDebugEnabled()) {
      logger.debug("client side of {}: {}", flow, cause.toString());
    }
    if (state != State.CLOSING) { // after a FIN each way the connection ended normally
      terminate(phase(state, Termination.CLIENT_ABORTED), cause);
    }
    ctx.close();
  }

  /**
   * Refuses at admission: gives the place back, counts, records the client among the rule's
   * refusals, closes. To REFUSED.
   */
  private void refuse(ChannelHandlerContext ctx, RefusalReason reason, String match) {
    state = State.REFUSED;
    refusal = reason;
    terminate(Termination.REFUSED, match);
    // before the close the client sees: a refused connection takes no place
    route.frontendCounters().active.decrementAndGet();
    route.frontendCounters().refusals.increment();
    route.ruleCounters().refusals.increment();
    route.refusals().record(reason, client.getAddress(), match);
    if (logger.isDebugEnabled()) {
      logger.debug("refused {} -> {}: {} {}", client, frontend, reason, match);
    }
    ctx.close();
  }

  /**
   * Writes {@code msg}, read from {@code from}, to {@code to}, and reads on from {@code from} while
   * {@code to} is writable (less than its write high-water mark waits); else {@code to}'s
   * writability change reads on. No promise, no listener: a failed write reaches {@code to}'s
   * handler's exceptionCaught.
   */
  static void relay(Object msg, Channel from, Channel to) {
    to.writeAndFlush(msg, to.voidPromise());
    if (to.isWritable()) {
      from.read();
    }
  }

  /** Whether lb4j sent {@code ch}'s FIN once all before it was written (see SHUTDOWN_OUTPUT). */
  private static boolean finSent(Channel ch) {
    return Boolean.FALSE.equals(ch.config().getOption(ChannelOption.ALLOW_HALF_CLOSURE));
  }

  static void shutdownOutput(Channel ch) {
    // after what is queued: the peer reads every byte before the FIN (see SHUTDOWN_OUTPUT)
    ch.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(SHUTDOWN_OUTPUT);
  }

  static void closeOnFlush(Channel ch) {
    if (ch.isActive()) {
      ch.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
    } else if (ch.isOpen()) {
      ch.close();
    }
  }
}
