package io.lb4j.proxy;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.io.JsonStringEncoder;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.lb4j.Backend;
import io.lb4j.BackendHealth;
import io.lb4j.Diagnosis;
import io.lb4j.Durations;
import io.lb4j.FlowKey;
import io.lb4j.InboundNatRule;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancingRule;
import io.lb4j.ProbeResult;
import io.lb4j.ProberStats;
import io.lb4j.Protocol;
import io.lb4j.Rule;
import io.lb4j.netty.NettyL4Proxy;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.DecoderResultProvider;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpObjectDecoder;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.NetUtil;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * The standalone proxy's admin endpoint over HTTP/1.1, on 127.0.0.1:9901 by default.
 *
 * <ul>
 *   <li>{@code GET /[?refresh=SECONDS]}: the HTML page ({@link AdminPages#html}): a summary line
 *       per rule, each rule's counters and backends (state, health, share of connections,
 *       sparklines from the {@link PageSampler}), the findings, recent probe results; {@code
 *       refresh} makes it reload itself;
 *   <li>{@code GET /report}: the same as plain text (what {@code lb4j-proxy report} prints);
 *   <li>{@code GET /diagnose}: {@link NettyL4Proxy#diagnose()} (the balancer's findings and the
 *       proxy's, such as refused clients) as JSON;
 *   <li>{@code GET /explain?src=IP:PORT&dst=IP:PORT[&protocol=tcp|udp]}: {@link
 *       NettyL4Proxy#explain} of that flow as JSON (a source the frontend refuses says so first);
 *   <li>{@code GET /metrics}: Prometheus text format (see {@link ProxyMetrics});
 *   <li>{@code GET /backends}: every rule's backends with health, overrides, the last probe results
 *       and counters, and each pool's membership source ({@code discovery}) with its state,
 *       members, the age of its last good answer and its last problem;
 *   <li>{@code GET /rules}: the rules with their settings, selection fingerprint and counters;
 *   <li>{@code GET /health}: {@code {"status":"ok"}} while the proxy runs (liveness);
 *   <li>{@code GET /ready}: readiness: 200 {@code ready} when every load-balancing rule has a
 *       backend in rotation and the proxy is not draining; otherwise 503 naming each rule without
 *       one ({@code rule app: 0 of 3 backends in rotation (web-0 UNHEALTHY, ...)}) or the drain.
 *       Plain text, or JSON when the request's {@code Accept} names {@code application/json};
 *   <li>{@code POST /reload}: re-reads the configuration file; an invalid file changes nothing and
 *       the answer (400) says why.
 * </ul>
 *
 * <p>Threads: the endpoint has its own event loop (one NIO thread, {@code lb4j-admin}), never the
 * proxy's, and that loop only decodes requests and writes answers. Every route runs on the
 * endpoint's handler threads ({@value #HANDLER_THREADS}, {@code lb4j-admin-handler}), because
 * routes block: a reload binds listeners and waits for the binds, diagnosis connects to backends'
 * data ports, and the rest read state under the proxy's lock, which a reload holds while it binds.
 * The answer is written back on the channel's event loop. At most {@value #QUEUED_REQUESTS}
 * requests wait for a handler; more are answered 503.
 *
 * <p>Security (see {@code docs/proxy.md}, "Admin security"): before a route runs, on the event
 * loop, a request is refused with the reason as JSON, then the connection closed, when the decoder
 * cannot read it (400; a request line over {@value #MAX_REQUEST_LINE} bytes 400, headers over
 * {@value #MAX_HEADER_BYTES} bytes 431), its {@code Host} is not the endpoint's address, {@code
 * localhost} or one of {@link AdminOptions#allowedHosts()} (421: DNS rebinding), its body is over
 * {@value #MAX_BODY_BYTES} bytes (413), or it is a state-changing request ({@link #MUTATING})
 * without {@code Content-Type: application/json}, or without the {@value #TOKEN_HEADER} header when
 * {@link AdminOptions#token()} is set (403: a web page's cross-origin POST). A connection idle for
 * {@link AdminOptions#idleTimeout()} is closed.
 *
 * <p>Every answer of a JSON route, errors included, is valid JSON.
 *
 * <p>Thread-safe.
 */
final class AdminServer implements AutoCloseable {
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  /** Threads that run the routes: one for a slow diagnosis, one for everything else meanwhile. */
  static final int HANDLER_THREADS = 2;

  /** Requests that may wait for a handler thread before the endpoint answers 503. */
  static final int QUEUED_REQUESTS = 64;

  /** The longest request line, 4 KiB (Netty's default); longer is answered 400. */
  static final int MAX_REQUEST_LINE = 4096;

  /** The most header bytes, 8 KiB (Netty's default); more is answered 431. */
  static final int MAX_HEADER_BYTES = 8192;

  /**
   * The largest body, 64 KiB; no route reads one, larger is answered 413 and the connection closed.
   */
  static final int MAX_BODY_BYTES = 65536;

  /**
   * How long a refused connection stays half-open after its answer, reading and dropping what the
   * client still sends, so that closing does not reset the connection before the client has read
   * the answer (a close with unread bytes sends RST).
   */
  static final long LINGER_MILLIS = 2000;

  /** The header that carries {@link AdminOptions#token()}. */
  static final String TOKEN_HEADER = "X-Lb4j-Token";

  /** Routes that change state: only by POST, and only with a JSON content type or the token. */
  static final Set<String> MUTATING = Set.of("/reload");

  static final String ROUTES =
      "GET /, GET /report, GET /diagnose, GET /explain?src=IP:PORT&dst=IP:PORT, GET /metrics,"
          + " GET /backends, GET /rules, GET /health, GET /ready or POST /reload";

  private final NettyL4Proxy proxy;
  private final Supplier<String> reload;
  private final BooleanSupplier draining;
  private final AdminOptions options;
  private final byte[] token;
  private final Channel channel;
  private final ProxyMetrics metrics;
  private final PageSampler sampler;
  private final AtomicBoolean closed = new AtomicBoolean();
  private final EventLoopGroup group =
      new MultiThreadIoEventLoopGroup(
          1, new DefaultThreadFactory("lb4j-admin", true), NioIoHandler.newFactory());
  private final ThreadPoolExecutor handlers =
      new ThreadPoolExecutor(
          HANDLER_THREADS,
          HANDLER_THREADS,
          30,
          TimeUnit.SECONDS,
          new ArrayBlockingQueue<>(QUEUED_REQUESTS),
          new DefaultThreadFactory("lb4j-admin-handler", true));

  /**
   * Serves the admin routes of {@code proxy} as {@code options} say; {@code reload} re-reads the
   * configuration and returns null, or why nothing changed.
   *
   * @throws IllegalStateException if the endpoint cannot listen on {@code options.address()}
   */
  AdminServer(NettyL4Proxy proxy, Supplier<String> reload, AdminOptions options) {
    this(proxy, reload, () -> false, options);
  }

  /**
   * Serves the admin routes of {@code proxy} as {@code options} say; {@code reload} re-reads the
   * configuration and returns null, or why nothing changed; {@code draining} says whether the proxy
   * is draining at shutdown ({@code GET /ready} answers 503 meanwhile).
   *
   * @throws IllegalStateException if the endpoint cannot listen on {@code options.address()}
   */
  AdminServer(
      NettyL4Proxy proxy, Supplier<String> reload, BooleanSupplier draining, AdminOptions options) {
    this(
        proxy,
        reload,
        draining,
        options,
        ProxyMetrics.of(proxy, new Reloads(java.time.InstantSource.system())));
  }

  /**
   * Serves the admin routes of {@code proxy} as {@code options} say; {@code reload} re-reads the
   * configuration and returns null, or why nothing changed; {@code draining} says whether the proxy
   * is draining at shutdown; {@code metrics} serves {@code /metrics}: this attaches {@code proxy}
   * to it, and closes it with the endpoint.
   *
   * @throws IllegalStateException if the endpoint cannot listen on {@code options.address()}
   */
  AdminServer(
      NettyL4Proxy proxy,
      Supplier<String> reload,
      BooleanSupplier draining,
      AdminOptions options,
      ProxyMetrics metrics) {
    this(proxy, reload, draining, options, metrics, PageSampler.start(proxy));
  }

  /**
   * As {@link #AdminServer(NettyL4Proxy, Supplier, BooleanSupplier, AdminOptions, ProxyMetrics)},
   * with the page's {@code sampler} (tests: one on a fake scheduler), which the endpoint closes
   * when it closes.
   */
  AdminServer(
      NettyL4Proxy proxy,
      Supplier<String> reload,
      BooleanSupplier draining,
      AdminOptions options,
      ProxyMetrics metrics,
      PageSampler sampler) {
    this.proxy = proxy;
    this.sampler = sampler;
    this.reload = reload;
    this.draining = draining;
    this.options = options;
    this.token = options.token() == null ? null : options.token().getBytes(StandardCharsets.UTF_8);
    this.metrics = metrics;
    metrics.attach(proxy);
    InetSocketAddress address = options.address();
    handlers.allowCoreThreadTimeOut(true);
    ServerBootstrap b =
        new ServerBootstrap()
            .group(group)
            .channel(NioServerSocketChannel.class)
            .childHandler(
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel ch) {
                    Gate gate = new Gate();
                    ch.pipeline()
                        .addLast(
                            new IdleStateHandler(
                                0, 0, options.idleTimeout().toMillis(), TimeUnit.MILLISECONDS),
                            new HttpServerCodec(
                                MAX_REQUEST_LINE,
                                MAX_HEADER_BYTES,
                                HttpObjectDecoder.DEFAULT_MAX_CHUNK_SIZE),
                            gate,
                            new Aggregator(gate),
                            new Handler());
                  }
                });
    try {
      this.channel = b.bind(address).syncUninterruptibly().channel();
    } catch (Exception e) { // Netty rethrows the socket's IOException unchecked
      metrics.close();
      shutdownThreads();
      throw new IllegalStateException(
          "admin cannot listen on "
              + io.lb4j.IpLiteral.format(address)
              + ": "
              + StandaloneProxy.reason(e),
          e);
    }
  }

  InetSocketAddress address() {
    return (InetSocketAddress) channel.localAddress();
  }

  /** Stops listening and releases the endpoint's threads; idempotent. */
  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      metrics.close();
      channel.close().syncUninterruptibly();
      shutdownThreads();
    }
  }

  private void shutdownThreads() {
    sampler.close();
    handlers.shutdownNow();
    group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
  }

  /** An answer: status, content type and body. */
  private record Response(HttpResponseStatus status, String contentType, byte[] body) {
    static Response json(HttpResponseStatus status, Object body) {
      try {
        return new Response(status, "application/json", JSON.writeValueAsBytes(body));
      } catch (JsonProcessingException e) {
        return new Response(
            HttpResponseStatus.INTERNAL_SERVER_ERROR,
            "application/json",
            errorJson("cannot write the answer as JSON: " + e.getOriginalMessage()));
      }
    }

    static Response text(String contentType, String body) {
      return new Response(
          HttpResponseStatus.OK, contentType, body.getBytes(StandardCharsets.UTF_8));
    }
  }

  /** Returns {@code {"error" : "..."}} with {@code message} escaped; cannot fail. */
  static byte[] errorJson(String message) {
    return ("{\n  \"error\" : \""
            + new String(JsonStringEncoder.getInstance().quoteAsString(message))
            + "\"\n}")
        .getBytes(StandardCharsets.UTF_8);
  }

  /** What a route needs of a request, taken before the request's buffers are released. */
  private record Request(
      HttpMethod method,
      String path,
      Map<String, List<String>> query,
      String host,
      boolean acceptsJson) {}

  private final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
    private boolean inFlight;

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
      inFlight = true;
      QueryStringDecoder uri = new QueryStringDecoder(req.uri());
      Request request =
          new Request(
              req.method(),
              uri.path(),
              uri.parameters(),
              req.headers().get(HttpHeaderNames.HOST, io.lb4j.IpLiteral.format(address())),
              acceptsJson(req.headers().getAll(HttpHeaderNames.ACCEPT)));
      try {
        handlers.execute(() -> answer(ctx, request));
      } catch (RejectedExecutionException e) {
        send(
            ctx,
            Response.json(
                HttpResponseStatus.SERVICE_UNAVAILABLE,
                Map.of(
                    "error",
                    "admin: busy, "
                        + QUEUED_REQUESTS
                        + " requests waiting (expected: fewer requests at once)")));
      }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      if (evt instanceof IdleStateEvent) {
        if (!inFlight) { // a slow route is not idleness: its answer closes the connection
          ctx.close();
        }
      } else {
        ctx.fireUserEventTriggered(evt);
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close();
    }
  }

  /**
   * Refuses, on the event loop and before a body is read, what no route should see: a request the
   * decoder could not read (400, or 431 for too many header bytes), a {@code Host} that is not the
   * endpoint's (421: DNS rebinding), a body over {@link #MAX_BODY_BYTES} (413), and a
   * state-changing request without the JSON content type or the token (403). A refusal is answered
   * with the reason as JSON, then the connection is closed ({@link #refuse}); everything the client
   * still sends is dropped.
   */
  private final class Gate extends ChannelInboundHandlerAdapter {
    private boolean refused;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (refused) {
        ReferenceCountUtil.release(msg);
        return;
      }
      Response refusal = null;
      if (msg instanceof DecoderResultProvider d && d.decoderResult().isFailure()) {
        refusal = malformed(d.decoderResult().cause());
      } else if (msg instanceof HttpRequest req) {
        refusal = check(req);
      }
      if (refusal != null) {
        ReferenceCountUtil.release(msg);
        refuse(ctx, refusal);
        return;
      }
      ctx.fireChannelRead(msg);
    }

    void refuse(ChannelHandlerContext ctx, Response refusal) {
      refused = true;
      AdminServer.refuse(ctx, refusal);
    }
  }

  /** Aggregates a request's body; one over {@link #MAX_BODY_BYTES} (chunked) is refused. */
  private static final class Aggregator extends HttpObjectAggregator {
    private final Gate gate;

    Aggregator(Gate gate) {
      super(MAX_BODY_BYTES);
      this.gate = gate;
    }

    @Override
    protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) {
      gate.refuse(ctx, tooLarge("more than " + MAX_BODY_BYTES + " bytes"));
    }
  }

  private static Response tooLarge(String size) {
    return Response.json(
        HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE,
        Map.of("error", "body: " + size + " (expected: at most " + MAX_BODY_BYTES + " bytes)"));
  }

  private static Response malformed(Throwable cause) {
    if (cause instanceof TooLongHttpHeaderException) {
      return Response.json(
          HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
          Map.of(
              "error",
              "header fields: more than "
                  + MAX_HEADER_BYTES
                  + " bytes (expected: at most "
                  + MAX_HEADER_BYTES
                  + " bytes)"));
    }
    if (cause instanceof TooLongHttpLineException) {
      return Response.json(
          HttpResponseStatus.BAD_REQUEST,
          Map.of(
              "error",
              "request line: more than "
                  + MAX_REQUEST_LINE
                  + " bytes (expected: at most "
                  + MAX_REQUEST_LINE
                  + " bytes)"));
    }
    return Response.json(
        HttpResponseStatus.BAD_REQUEST,
        Map.of(
            "error",
            "malformed request: "
                + cause.getMessage()
                + " (expected: HTTP/1.1 such as GET /report HTTP/1.1)"));
  }

  /** Returns why {@code req} is refused before routing, or null. */
  private Response check(HttpRequest req) {
    String host = req.headers().get(HttpHeaderNames.HOST);
    if (host == null) {
      return Response.json(
          HttpResponseStatus.BAD_REQUEST,
          Map.of("error", "Host: missing (expected: " + expectedHosts() + ")"));
    }
    if (!allowedHost(host)) {
      return Response.json(
          HttpResponseStatus.MISDIRECTED_REQUEST,
          Map.of("error", "Host: '" + host + "' (expected: " + expectedHosts() + ")"));
    }
    long length = HttpUtil.getContentLength(req, -1L);
    if (length > MAX_BODY_BYTES) {
      return tooLarge(length + " bytes");
    }
    String path = new QueryStringDecoder(req.uri()).path();
    if (req.method() == HttpMethod.POST && MUTATING.contains(path)) {
      return authorize(req);
    }
    return null;
  }

  /** Refuses a state-changing request a web page could have sent, or one without the token. */
  private Response authorize(HttpRequest req) {
    if (token != null) {
      String sent = req.headers().get(TOKEN_HEADER);
      if (sent == null
          || !MessageDigest.isEqual(
              token, sent.getBytes(StandardCharsets.UTF_8))) { // constant time
        return Response.json(
            HttpResponseStatus.FORBIDDEN,
            Map.of(
                "error",
                TOKEN_HEADER
                    + ": "
                    + (sent == null ? "missing" : "wrong")
                    + " (expected: admin.token of the proxy's file; lb4j-proxy reload --token)"));
      }
      return null;
    }
    String type = req.headers().get(HttpHeaderNames.CONTENT_TYPE);
    String media = type == null ? "" : type.split(";", 2)[0].strip().toLowerCase(Locale.ROOT);
    if (!media.equals("application/json")) {
      return Response.json(
          HttpResponseStatus.FORBIDDEN,
          Map.of(
              "error",
              "Content-Type: "
                  + (type == null ? "missing" : "'" + type + "'")
                  + " (expected: application/json, which a web page cannot send to another origin"
                  + " without a preflight this endpoint never approves)"));
    }
    return null;
  }

  /**
   * Accepts a {@code Host} naming the endpoint's own address (any address when it listens on all),
   * {@code localhost} or one of {@link AdminOptions#allowedHosts()}, with any port. A name that
   * resolves through an attacker's DNS to 127.0.0.1 (DNS rebinding) is none of these.
   */
  boolean allowedHost(String header) {
    String host = header.strip().toLowerCase(Locale.ROOT);
    String port = "";
    if (host.startsWith("[")) {
      int end = host.indexOf(']');
      if (end < 0) {
        return false;
      }
      port = host.substring(end + 1);
      host = host.substring(1, end);
    } else {
      int colon = host.indexOf(':');
      if (colon >= 0) {
        port = host.substring(colon);
        host = host.substring(0, colon);
      }
    }
    if (!port.isEmpty() && !port.matches(":[0-9]{1,5}")) {
      return false;
    }
    if (host.equals("localhost") || options.allowedHosts().contains(host)) {
      return true;
    }
    byte[] ip = NetUtil.createByteArrayFromIpAddressString(host);
    InetAddress bound = options.address().getAddress();
    return ip != null && (bound.isAnyLocalAddress() || Arrays.equals(ip, bound.getAddress()));
  }

  private String expectedHosts() {
    List<String> names = new ArrayList<>();
    names.add(io.lb4j.IpLiteral.format(address()));
    names.add("localhost");
    names.addAll(options.allowedHosts());
    return "one of "
        + names
        + (options.allowedHosts().isEmpty() ? "; more names with admin.allowedHosts" : "");
  }

  /**
   * Answers {@code r} and closes: the answer, then our half of the connection (FIN); what the
   * client still sends is read and dropped until it closes, or {@link #LINGER_MILLIS} after the
   * answer.
   */
  private static void refuse(ChannelHandlerContext ctx, Response r) {
    Channel ch = ctx.channel();
    ctx.writeAndFlush(response(r))
        .addListener(
            (ChannelFutureListener)
                f -> {
                  if (!f.isSuccess()) {
                    ch.close();
                  } else if (ch instanceof SocketChannel s) {
                    s.shutdownOutput();
                    ch.eventLoop().schedule(() -> ch.close(), LINGER_MILLIS, TimeUnit.MILLISECONDS);
                  } else {
                    ch.close();
                  }
                });
  }

  /** Runs on a handler thread: routes the request, then writes the answer on the channel's loop. */
  private void answer(ChannelHandlerContext ctx, Request request) {
    Response r;
    try {
      r = route(request);
    } catch (Throwable e) { // a route's failure is an answer, never a dead thread and a hung client
      r = error(e);
    }
    Response answer = r;
    try {
      ctx.executor().execute(() -> send(ctx, answer));
    } catch (RejectedExecutionException closing) {
      // the endpoint is closing: its event loop takes no more work, and the client is gone
    }
  }

  private Response route(Request req) {
    boolean get = req.method() == HttpMethod.GET;
    String path = req.path();
    if (get && (path.equals("/") || path.equals("/report") || path.equals("/diagnose"))) {
      int refresh = 0;
      if (path.equals("/")) {
        try {
          refresh = AdminPages.refreshSeconds(req.query());
        } catch (IllegalArgumentException e) {
          return new Response(
              HttpResponseStatus.BAD_REQUEST,
              "text/plain; charset=utf-8",
              (e.getMessage() + "\n").getBytes(StandardCharsets.UTF_8));
        }
      }
      Diagnosis d = proxy.diagnose(); // the balancer's findings and the proxy's (refusals)
      switch (path) {
        case "/diagnose":
          return Response.json(HttpResponseStatus.OK, AdminPages.json(d));
        case "/report":
          return Response.text(
              "text/plain; charset=utf-8",
              AdminPages.text(req.host(), AdminPages.model(proxy, d, sampler, 0)));
        default:
          return Response.text(
              "text/html; charset=utf-8",
              AdminPages.html(AdminPages.model(proxy, d, sampler, refresh)));
      }
    } else if (get && path.equals("/backends")) {
      return Response.json(HttpResponseStatus.OK, backends());
    } else if (get && path.equals("/rules")) {
      return Response.json(HttpResponseStatus.OK, rules());
    } else if (get && path.equals("/health")) {
      return Response.json(HttpResponseStatus.OK, Map.of("status", "ok"));
    } else if (get && path.equals("/ready")) {
      return ready(req.acceptsJson());
    } else if (get && path.equals("/metrics")) {
      return Response.text("text/plain; version=0.0.4; charset=utf-8", metrics.scrape());
    } else if (get && path.equals("/explain")) {
      FlowKey flow;
      try {
        flow = flow(req.query());
      } catch (IllegalArgumentException e) {
        return Response.json(HttpResponseStatus.BAD_REQUEST, Map.of("error", e.getMessage()));
      }
      return Response.json(HttpResponseStatus.OK, AdminPages.json(proxy.explain(flow)));
    } else if (MUTATING.contains(path) && req.method() != HttpMethod.POST) {
      return Response.json(
          HttpResponseStatus.METHOD_NOT_ALLOWED,
          Map.of("error", req.method() + " " + path + " (expected: POST)"));
    } else if (req.method() == HttpMethod.POST && path.equals("/reload")) {
      String error;
      try {
        error = reload.get();
      } catch (Throwable e) { // checked or not, an Error too: a reload's failure is a 400
        error = e.getMessage() == null ? e.toString() : e.getMessage();
      }
      return error == null
          ? Response.json(HttpResponseStatus.OK, Map.of("reloaded", true))
          : Response.json(
              HttpResponseStatus.BAD_REQUEST, Map.of("reloaded", false, "error", error));
    }
    return Response.json(
        HttpResponseStatus.NOT_FOUND,
        Map.of("error", req.method() + " " + path + " (expected: " + ROUTES + ")"));
  }

  /** Whether an {@code Accept} header names {@code application/json} (parameters ignored). */
  static boolean acceptsJson(List<String> accept) {
    for (String header : accept) {
      for (String range : header.split(",")) {
        String media = range.split(";", 2)[0].strip().toLowerCase(Locale.ROOT);
        if (media.equals("application/json")) {
          return true;
        }
      }
    }
    return false;
  }

  /**
   * Returns why the proxy is not ready for new flows, one line each: it is draining at shutdown, or
   * a load-balancing rule has no backend in rotation ({@code rule app: 0 of 3 backends in rotation
   * (web-0 UNHEALTHY, web-1 FORCE_DOWN, web-2 ejected)}); empty when it is ready. Inbound NAT rules
   * are left out: each names one backend on purpose.
   */
  List<String> notReady() {
    List<String> why = new ArrayList<>();
    if (draining.getAsBoolean()) {
      why.add("draining: shutting down, established connections finish");
    }
    LoadBalancerConfig config = proxy.loadBalancer().config();
    for (Rule r : config.rules()) {
      if (!(r instanceof LoadBalancingRule)) {
        continue;
      }
      List<AdminPages.Target> targets = AdminPages.targets(config, r);
      int inRotation = 0;
      List<String> out = new ArrayList<>();
      for (AdminPages.Target t : targets) {
        BackendHealth h;
        try {
          h = proxy.loadBalancer().health(r.name(), t.backend().id());
        } catch (IllegalArgumentException gone) { // removed by a reload meanwhile
          continue;
        }
        if (h.inRotation()) {
          inRotation++;
        } else {
          out.add(t.backend().id() + " " + AdminPages.outOfRotation(t.backend(), h));
        }
      }
      if (inRotation == 0) {
        why.add(
            "rule "
                + r.name()
                + ": 0 of "
                + targets.size()
                + " backends in rotation"
                + (targets.isEmpty() ? " (pool " + r.backendPool() + " is empty)" : "")
                + (out.isEmpty() ? "" : " (" + String.join(", ", out) + ")"));
      }
    }
    return why;
  }

  private Response ready(boolean json) {
    List<String> why = notReady();
    HttpResponseStatus status =
        why.isEmpty() ? HttpResponseStatus.OK : HttpResponseStatus.SERVICE_UNAVAILABLE;
    if (json) {
      Map<String, Object> body = new LinkedHashMap<>();
      body.put("ready", why.isEmpty());
      body.put("draining", draining.getAsBoolean());
      body.put("reasons", why);
      return Response.json(status, body);
    }
    String text = why.isEmpty() ? "ready\n" : String.join("\n", why) + "\n";
    return new Response(status, "text/plain; charset=utf-8", text.getBytes(StandardCharsets.UTF_8));
  }

  /** Reads the flow of {@code /explain} from its query parameters. */
  static FlowKey flow(Map<String, List<String>> query) {
    InetSocketAddress src = endpoint(query, "src");
    InetSocketAddress dst = endpoint(query, "dst");
    List<String> p = query.getOrDefault("protocol", List.of("tcp"));
    Protocol protocol;
    switch (p.get(0).toLowerCase(Locale.ROOT)) {
      case "tcp" -> protocol = Protocol.TCP;
      case "udp" -> protocol = Protocol.UDP;
      default ->
          throw new IllegalArgumentException("protocol: '" + p.get(0) + "' (expected: tcp or udp)");
    }
    return FlowKey.of(protocol, src, dst);
  }

  private static InetSocketAddress endpoint(Map<String, List<String>> query, String name) {
    List<String> values = query.get(name);
    String expected = " (expected: an IP literal and port such as 127.0.0.9:40000 or [::1]:40000)";
    if (values == null || values.isEmpty()) {
      throw new IllegalArgumentException(name + ": missing" + expected);
    }
    String v = values.get(0);
    int colon = v.lastIndexOf(':');
    if (colon <= 0) {
      throw new IllegalArgumentException(name + ": '" + v + "'" + expected);
    }
    String host = v.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    int port;
    try {
      port = Integer.parseInt(v.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(name + ": '" + v + "'" + expected);
    }
    if (port < 0
        || port > 65535
        || !NetUtil.isValidIpV4Address(host) && !NetUtil.isValidIpV6Address(host)) {
      throw new IllegalArgumentException(name + ": '" + v + "'" + expected);
    }
    return new InetSocketAddress(NetUtil.createInetAddressFromIpAddressString(host), port);
  }

  private static Response error(Throwable e) {
    return new Response(
        HttpResponseStatus.INTERNAL_SERVER_ERROR, "application/json", errorJson(e.toString()));
  }

  private static void send(ChannelHandlerContext ctx, Response r) {
    ctx.writeAndFlush(response(r)).addListener(ChannelFutureListener.CLOSE);
  }

  private static FullHttpResponse response(Response r) {
    FullHttpResponse res =
        new DefaultFullHttpResponse(
            HttpVersion.HTTP_1_1, r.status(), Unpooled.wrappedBuffer(r.body()));
    res.headers().set(HttpHeaderNames.CONTENT_TYPE, r.contentType());
    res.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, r.body().length);
    res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    return res;
  }

  private Map<String, Object> backends() {
    LoadBalancerConfig config = proxy.loadBalancer().config();
    List<Object> rules = new ArrayList<>();
    for (Rule r : config.rules()) {
      List<Object> backends = new ArrayList<>();
      for (AdminPages.Target t : AdminPages.targets(config, r)) {
        backends.add(backend(r.name(), t.backend(), t.port()));
      }
      rules.add(Map.of("rule", r.name(), "pool", r.backendPool(), "backends", backends));
    }
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("rules", rules);
    List<Object> sources = new ArrayList<>();
    for (AdminPages.SourceView v :
        AdminPages.sources(proxy.loadBalancer(), config, java.time.Instant.now())) {
      sources.add(AdminPages.json(v));
    }
    out.put("discovery", sources);
    ProberStats stats = proxy.loadBalancer().proberStats();
    if (stats.targets() > 0) {
      Map<String, Object> prober = new LinkedHashMap<>();
      prober.put("targets", stats.targets());
      prober.put("completed", stats.completed());
      prober.put("failures", stats.failures());
      prober.put("backstops", stats.backstops());
      prober.put("latenessP50", Durations.format(stats.latenessP50()));
      prober.put("latenessP99", Durations.format(stats.latenessP99()));
      prober.put("latenessMax", Durations.format(stats.latenessMax()));
      out.put("prober", prober);
    }
    return out;
  }

  private Map<String, Object> backend(String rule, Backend b, int port) {
    BackendHealth h = proxy.loadBalancer().health(rule, b.id());
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("id", b.id());
    m.put("address", io.lb4j.IpLiteral.format(b.address()));
    m.put("port", port);
    m.put("weight", b.weight());
    m.put("adminState", b.adminState());
    m.put("healthOverride", b.healthOverride());
    m.put("health", h.state());
    m.put("inRotation", h.inRotation());
    m.put("ejectedUntil", h.ejectedUntil() == null ? null : h.ejectedUntil().toString());
    m.put("consecutiveConnectFailures", h.consecutiveConnectFailures());
    m.put("activeFlows", proxy.loadBalancer().activeFlows(rule, b.id()));
    m.put("counters", proxy.backendSnapshot(rule, b.id()));
    List<Object> probes = new ArrayList<>();
    for (ProbeResult r : h.recentResults()) {
      probes.add(
          Map.of(
              "time",
              r.time().toString(),
              "outcome",
              r.outcome(),
              "latencyMs",
              r.latency().toNanos() / 1e6,
              "detail",
              r.detail()));
    }
    m.put("recentProbes", probes);
    return m;
  }

  private List<Object> rules() {
    LoadBalancerConfig config = proxy.loadBalancer().config();
    Map<String, InetSocketAddress> listening = proxy.listeners();
    List<Object> out = new ArrayList<>();
    for (Rule r : config.rules()) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("name", r.name());
      m.put("kind", r instanceof InboundNatRule ? "inboundNat" : "loadBalancing");
      m.put("listening", AdminPages.address(listening.get(r.name())));
      m.put("protocol", r.protocol());
      m.put("backendPool", r.backendPool());
      m.put("backendPort", r.backendPort());
      m.put("selectionFingerprint", AdminPages.fingerprint(proxy.loadBalancer(), r.name()));
      if (r instanceof LoadBalancingRule lb) {
        m.put("probe", lb.probe());
        m.put("distributionMode", lb.distributionMode());
        m.put("selection", lb.selection());
        m.put("noHealthyBackendPolicy", lb.noHealthyBackendPolicy());
        m.put("unhealthyFlowPolicy", lb.unhealthyFlowPolicy());
        m.put("drainTimeout", Durations.format(lb.drainTimeout()));
      } else {
        InboundNatRule n = (InboundNatRule) r;
        m.put("backend", n.backendPool() + "/" + n.backend() + ":" + n.backendPort());
      }
      m.put("idleTimeout", Durations.format(r.idleTimeout()));
      m.put("tcpReset", r.tcpReset());
      m.put("counters", proxy.ruleCounters(r.name()));
      m.put("refusals", AdminPages.json(proxy.refusals(r.name())));
      out.add(m);
    }
    return out;
  }
}
