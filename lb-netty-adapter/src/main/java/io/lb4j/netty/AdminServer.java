package io.lb4j.netty;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.lb4j.Backend;
import io.lb4j.BackendHealth;
import io.lb4j.InboundNatRule;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancingRule;
import io.lb4j.ProbeResult;
import io.lb4j.core.health.HealthProber;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
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
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The standalone proxy's admin endpoint: JSON over HTTP/1.1, on 127.0.0.1:9901 by default.
 *
 * <ul>
 *   <li>{@code GET /backends}: every rule's backends with health, overrides, the last probe results
 *       and counters;
 *   <li>{@code GET /rules}: the rules with their settings and counters;
 *   <li>{@code GET /health}: {@code {"status":"ok"}} while the proxy runs;
 *   <li>{@code POST /reload}: re-reads the configuration file; an invalid file changes nothing and
 *       the answer (400) says why.
 * </ul>
 *
 * <p>Thread-safe.
 */
final class AdminServer implements AutoCloseable {
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private final StandaloneProxy standalone;
  private final Channel channel;

  AdminServer(
      StandaloneProxy standalone,
      InetSocketAddress address,
      EventLoopGroup group,
      Transport transport) {
    this.standalone = standalone;
    ServerBootstrap b =
        new ServerBootstrap()
            .group(group)
            .channel(transport.serverChannel())
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
    } catch (RuntimeException e) {
      throw new IllegalStateException(
          "admin: cannot listen on " + address + ": " + e.getMessage(), e);
    }
  }

  InetSocketAddress address() {
    return (InetSocketAddress) channel.localAddress();
  }

  @Override
  public void close() {
    channel.close().syncUninterruptibly();
  }

  private final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
      String path = new QueryStringDecoder(req.uri()).path();
      HttpResponseStatus status = HttpResponseStatus.OK;
      Object body;
      try {
        if (req.method() == HttpMethod.GET && path.equals("/backends")) {
          body = backends();
        } else if (req.method() == HttpMethod.GET && path.equals("/rules")) {
          body = rules();
        } else if (req.method() == HttpMethod.GET && path.equals("/health")) {
          body = Map.of("status", "ok");
        } else if (req.method() == HttpMethod.POST && path.equals("/reload")) {
          String error = standalone.reload();
          if (error == null) {
            body = Map.of("reloaded", true);
          } else {
            status = HttpResponseStatus.BAD_REQUEST;
            body = Map.of("reloaded", false, "error", error);
          }
        } else if (req.method() == HttpMethod.GET && path.equals("/")) {
          body =
              Map.of(
                  "routes", List.of("GET /backends", "GET /rules", "GET /health", "POST /reload"));
        } else {
          status = HttpResponseStatus.NOT_FOUND;
          body =
              Map.of(
                  "error",
                  req.method()
                      + " "
                      + path
                      + " (expected: GET /backends,"
                      + " GET /rules, GET /health or POST /reload)");
        }
      } catch (RuntimeException e) {
        status = HttpResponseStatus.INTERNAL_SERVER_ERROR;
        body = Map.of("error", e.toString());
      }
      byte[] bytes;
      try {
        bytes = JSON.writeValueAsBytes(body);
      } catch (JsonProcessingException e) {
        status = HttpResponseStatus.INTERNAL_SERVER_ERROR;
        bytes = ("{\"error\":\"" + e.getOriginalMessage() + "\"}").getBytes(StandardCharsets.UTF_8);
      }
      FullHttpResponse res =
          new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.wrappedBuffer(bytes));
      res.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json");
      res.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, bytes.length);
      res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
      ctx.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close();
    }
  }

  private Map<String, Object> backends() {
    NettyL4Proxy proxy = standalone.proxy();
    LoadBalancerConfig config = proxy.loadBalancer().config();
    List<Object> rules = new ArrayList<>();
    for (LoadBalancingRule r : config.loadBalancingRules()) {
      List<Object> backends = new ArrayList<>();
      for (Backend b : config.pool(r.backendPool()).backends()) {
        backends.add(backend(r.name(), b, b.target(r.backendPort()).getPort()));
      }
      rules.add(Map.of("rule", r.name(), "pool", r.backendPool(), "backends", backends));
    }
    for (InboundNatRule n : config.inboundNatRules()) {
      Backend b = config.pool(n.backendPool()).backend(n.backend());
      rules.add(
          Map.of(
              "rule",
              n.name(),
              "pool",
              n.backendPool(),
              "backends",
              List.of(backend(n.name(), b, n.backendPort()))));
    }
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("rules", rules);
    HealthProber.ProberStats stats = proxy.loadBalancer().proberStats();
    if (stats != null) {
      out.put("prober", stats);
    }
    return out;
  }

  private Map<String, Object> backend(String rule, Backend b, int port) {
    NettyL4Proxy proxy = standalone.proxy();
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
    NettyL4Proxy proxy = standalone.proxy();
    LoadBalancerConfig config = proxy.loadBalancer().config();
    Map<String, InetSocketAddress> listening = proxy.listeners();
    List<Object> out = new ArrayList<>();
    for (LoadBalancingRule r : config.loadBalancingRules()) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("name", r.name());
      m.put("kind", "loadBalancing");
      m.put("listening", String.valueOf(listening.get(r.name())));
      m.put("protocol", r.protocol());
      m.put("backendPool", r.backendPool());
      m.put("backendPort", r.backendPort());
      m.put("probe", r.probe());
      m.put("distributionMode", r.distributionMode());
      m.put("selection", r.selection());
      m.put("idleTimeout", r.idleTimeout().toString());
      m.put("tcpReset", r.tcpReset());
      m.put("noHealthyBackendPolicy", r.noHealthyBackendPolicy());
      m.put("unhealthyFlowPolicy", r.unhealthyFlowPolicy());
      m.put("counters", proxy.ruleCounters(r.name()));
      out.add(m);
    }
    for (InboundNatRule n : config.inboundNatRules()) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("name", n.name());
      m.put("kind", "inboundNat");
      m.put("listening", String.valueOf(listening.get(n.name())));
      m.put("backend", n.backendPool() + "/" + n.backend() + ":" + n.backendPort());
      m.put("counters", proxy.ruleCounters(n.name()));
      out.add(m);
    }
    return out;
  }
}
