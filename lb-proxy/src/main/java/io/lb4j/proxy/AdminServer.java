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
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.util.NetUtil;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

/**
 * The standalone proxy's admin endpoint over HTTP/1.1, on 127.0.0.1:9901 by default.
 *
 * <ul>
 *   <li>{@code GET /}: the HTML page: findings, each rule's backends with health and a bar of their
 *       share of flows, recent probe results;
 *   <li>{@code GET /report}: the same as plain text (what {@code lb4j-proxy report} prints);
 *   <li>{@code GET /diagnose}: {@link io.lb4j.LoadBalancer#diagnose()} as JSON;
 *   <li>{@code GET /explain?src=IP:PORT&dst=IP:PORT[&protocol=tcp|udp]}: {@link
 *       io.lb4j.LoadBalancer#explain} of that flow as JSON;
 *   <li>{@code GET /metrics}: Prometheus text format (see {@link ProxyMetrics});
 *   <li>{@code GET /backends}: every rule's backends with health, overrides, the last probe results
 *       and counters;
 *   <li>{@code GET /rules}: the rules with their settings and counters;
 *   <li>{@code GET /health}: {@code {"status":"ok"}} while the proxy runs;
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

  static final String ROUTES =
      "GET /, GET /report, GET /diagnose, GET /explain?src=IP:PORT&dst=IP:PORT, GET /metrics,"
          + " GET /backends, GET /rules, GET /health or POST /reload";

  private final NettyL4Proxy proxy;
  private final Supplier<String> reload;
  private final Channel channel;
  private final ProxyMetrics metrics;
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
   * Serves the admin routes of {@code proxy} on {@code address}; {@code reload} re-reads the
   * configuration and returns null, or why nothing changed.
   *
   * @throws IllegalStateException if the endpoint cannot listen on {@code address}
   */
  AdminServer(NettyL4Proxy proxy, Supplier<String> reload, InetSocketAddress address) {
    this.proxy = proxy;
    this.reload = reload;
    this.metrics = new ProxyMetrics(proxy);
    handlers.allowCoreThreadTimeOut(true);
    ServerBootstrap b =
        new ServerBootstrap()
            .group(group)
            .channel(NioServerSocketChannel.class)
            .childHandler(
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel ch) {
                    ch.pipeline()
                        .addLast(
                            new HttpServerCodec(), new HttpObjectAggregator(65536), new Handler());
                  }
                });
    try {
      this.channel = b.bind(address).syncUninterruptibly().channel();
    } catch (Exception e) { // Netty rethrows the socket's IOException unchecked
      shutdownThreads();
      throw new IllegalStateException(
          "admin cannot listen on "
              + StandaloneProxy.hostPort(address)
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
      channel.close().syncUninterruptibly();
      shutdownThreads();
    }
  }

  private void shutdownThreads() {
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
      HttpMethod method, String path, Map<String, List<String>> query, String host) {}

  private final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
      QueryStringDecoder uri = new QueryStringDecoder(req.uri());
      Request request =
          new Request(
              req.method(),
              uri.path(),
              uri.parameters(),
              req.headers().get(HttpHeaderNames.HOST, StandaloneProxy.hostPort(address())));
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
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close();
    }
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
      Diagnosis d = proxy.loadBalancer().diagnose();
      switch (path) {
        case "/diagnose":
          return Response.json(HttpResponseStatus.OK, AdminPages.json(d));
        case "/report":
          return Response.text(
              "text/plain; charset=utf-8", AdminPages.text(req.host(), AdminPages.model(proxy, d)));
        default:
          return Response.text(
              "text/html; charset=utf-8", AdminPages.html(AdminPages.model(proxy, d)));
      }
    } else if (get && path.equals("/backends")) {
      return Response.json(HttpResponseStatus.OK, backends());
    } else if (get && path.equals("/rules")) {
      return Response.json(HttpResponseStatus.OK, rules());
    } else if (get && path.equals("/health")) {
      return Response.json(HttpResponseStatus.OK, Map.of("status", "ok"));
    } else if (get && path.equals("/metrics")) {
      return Response.text("text/plain; version=0.0.4; charset=utf-8", metrics.scrape());
    } else if (get && path.equals("/explain")) {
      FlowKey flow;
      try {
        flow = flow(req.query());
      } catch (IllegalArgumentException e) {
        return Response.json(HttpResponseStatus.BAD_REQUEST, Map.of("error", e.getMessage()));
      }
      return Response.json(
          HttpResponseStatus.OK, AdminPages.json(proxy.loadBalancer().explain(flow)));
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
    FullHttpResponse res =
        new DefaultFullHttpResponse(
            HttpVersion.HTTP_1_1, r.status(), Unpooled.wrappedBuffer(r.body()));
    res.headers().set(HttpHeaderNames.CONTENT_TYPE, r.contentType());
    res.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, r.body().length);
    res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    ctx.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
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
    m.put("address", b.address().getHostAddress());
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
      out.add(m);
    }
    return out;
  }
}
