package io.lb4j.proxy;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonStreamContext;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.core.exc.StreamReadException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.lb4j.AdminState;
import io.lb4j.Backend;
import io.lb4j.BackendPool;
import io.lb4j.DistributionMode;
import io.lb4j.Durations;
import io.lb4j.Frontend;
import io.lb4j.HealthOverride;
import io.lb4j.HealthProbe;
import io.lb4j.HealthState;
import io.lb4j.InboundNatRule;
import io.lb4j.IpLiteral;
import io.lb4j.LoadBalancerConfig;
import io.lb4j.LoadBalancingRule;
import io.lb4j.NoHealthyBackendPolicy;
import io.lb4j.OutlierDetection;
import io.lb4j.ProbeProtocol;
import io.lb4j.Protocol;
import io.lb4j.SelectionAlgorithm;
import io.lb4j.SelectionPolicy;
import io.lb4j.UnhealthyFlowPolicy;
import io.lb4j.core.L4LoadBalancer;
import io.lb4j.discovery.DiscoveryOptions;
import io.lb4j.discovery.MembershipSource;
import io.lb4j.discovery.MembershipSourceProvider;
import io.lb4j.netty.Cidr;
import io.lb4j.netty.FrontendOptions;
import io.lb4j.netty.NettyL4Proxy;
import io.lb4j.netty.ProxyProtocol;
import io.lb4j.netty.RuleOptions;
import io.lb4j.netty.SourceAddress;
import io.lb4j.netty.Transport;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads a standalone proxy's YAML file into a {@link ProxyConfig}. Every error names the file, the
 * line and the path inside it, the bad value and what was expected, for example {@code lb.yaml:18:
 * loadBalancingRules[1].backendPool: 'web' is not defined (known pools: [api, db])} (the line of a
 * missing key is that of the mapping that lacks it; see {@link YamlLines}); unknown keys are errors
 * too, so that a typo never passes silently. A pool's {@code discovery:} block names a {@link
 * MembershipSourceProvider} type found with {@link java.util.ServiceLoader}, whose settings the
 * provider checks as the file is read. See {@code docs/configuration.md}.
 *
 * <p>Why one class of about 650 lines: it reads the file top-down in the file's own structure, and
 * every reader carries the path and line that its errors name; split by section, each part would
 * need the same path bookkeeping and the cross-section checks would straddle them.
 *
 * <p>Thread-safe.
 */
public final class ConfigLoader {
  private static final Logger logger = LoggerFactory.getLogger(ConfigLoader.class);

  /**
   * The largest configuration read, 1 MiB, checked before a byte is parsed: a file with a thousand
   * backends is under 100 KiB, and SnakeYAML's scanner is superlinear in a scalar's length (a 10 MB
   * scalar cost 44 s of CPU before SnakeYAML's own 3 MiB limit refused it), so the whole input is
   * bounded first.
   */
  public static final int MAX_CONFIG_BYTES = 1 << 20;

  /**
   * The longest line and the longest value or key, 64 KiB characters. Lines are checked before
   * parsing (a long single-line scalar is what makes the scanner slow); values, which may span
   * lines, after. Jackson's {@code maxStringLength} is set to it as well, though its YAML parser
   * does not apply it to scalars.
   */
  public static final int MAX_VALUE_CHARS = 1 << 16;

  /**
   * The deepest nesting of mappings and lists, 16: the file's own structure is 4 deep ({@code
   * loadBalancingRules[0].outlierDetection.baseEjectionTime}). Jackson refuses a deeper document as
   * it reads it, so a 1,000-deep one costs microseconds.
   */
  public static final int MAX_NESTING_DEPTH = 16;

  /**
   * Refuses a key given twice in one mapping, which YAML parsers otherwise resolve silently, and
   * reads within {@link #MAX_CONFIG_BYTES}, {@link #MAX_VALUE_CHARS} and {@link
   * #MAX_NESTING_DEPTH}.
   */
  private static final ObjectMapper YAML =
      new ObjectMapper(
          YAMLFactory.builder()
              .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
              .streamReadConstraints(
                  StreamReadConstraints.builder()
                      .maxNestingDepth(MAX_NESTING_DEPTH)
                      .maxStringLength(MAX_VALUE_CHARS)
                      .maxDocumentLength(MAX_CONFIG_BYTES)
                      .build())
              .build());

  /** The admin endpoint's default address, 127.0.0.1:9901 (Envoy's admin port). */
  public static final InetSocketAddress DEFAULT_ADMIN =
      new InetSocketAddress(InetAddress.getLoopbackAddress(), 9901);

  private ConfigLoader() {}

  /**
   * Reads and checks {@code file}.
   *
   * @throws IllegalArgumentException with the file, path, value and expectation of the first error
   */
  public static ProxyConfig load(Path file) {
    String name = file.getFileName().toString();
    String text;
    try {
      long size = Files.isRegularFile(file) ? Files.size(file) : 0;
      if (size > MAX_CONFIG_BYTES) {
        throw tooLarge(name, size + " bytes");
      }
      byte[] bytes;
      try (InputStream in = Files.newInputStream(file)) { // bounded: the file may grow meanwhile
        bytes = in.readNBytes(MAX_CONFIG_BYTES + 1);
      }
      if (bytes.length > MAX_CONFIG_BYTES) {
        throw tooLarge(name, "more than " + MAX_CONFIG_BYTES + " bytes");
      }
      text =
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .decode(ByteBuffer.wrap(bytes))
              .toString();
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read " + file + ": " + why(e), e);
    }
    return parse(name, text);
  }

  private static IllegalArgumentException tooLarge(String name, String size) {
    return new IllegalArgumentException(
        name + ": " + size + " (expected: at most " + MAX_CONFIG_BYTES + " bytes)");
  }

  /**
   * Refuses, before parsing, input longer than {@link #MAX_CONFIG_BYTES} or with a line longer than
   * {@link #MAX_VALUE_CHARS}: {@code lb.yaml:3: a line of 10000006 characters (expected: at most
   * 65536 characters on a line)}.
   */
  private static void requireBounded(String name, String text) {
    if (text.length() > MAX_CONFIG_BYTES) {
      throw new IllegalArgumentException(
          name
              + ": "
              + text.length()
              + " characters (expected: at most "
              + MAX_CONFIG_BYTES
              + " bytes)");
    }
    int line = 1;
    int start = 0;
    for (int i = 0; i <= text.length(); i++) {
      if (i == text.length() || text.charAt(i) == '\n') {
        if (i - start > MAX_VALUE_CHARS) {
          throw new IllegalArgumentException(
              name
                  + ":"
                  + line
                  + ": a line of "
                  + (i - start)
                  + " characters (expected: at most "
                  + MAX_VALUE_CHARS
                  + " characters on a line)");
        }
        line++;
        start = i + 1;
      }
    }
  }

  /**
   * Refuses a key or value longer than {@link #MAX_VALUE_CHARS} (one that spans lines): {@code
   * lb.yaml:12: probes[0].path: a value of 70000 characters (expected: at most 65536 characters)}.
   */
  private static void requireShortValues(String path, JsonNode node) {
    if (node.isTextual() && node.textValue().length() > MAX_VALUE_CHARS) {
      throw new ConfigError(
          path,
          "a value of "
              + node.textValue().length()
              + " characters (expected: at most "
              + MAX_VALUE_CHARS
              + " characters)");
    }
    if (node.isArray()) {
      for (int i = 0; i < node.size(); i++) {
        requireShortValues(path + "[" + i + "]", node.get(i));
      }
    } else if (node.isObject()) {
      for (Map.Entry<String, JsonNode> e : node.properties()) {
        String at = path.isEmpty() ? e.getKey() : path + "." + e.getKey();
        if (e.getKey().length() > MAX_VALUE_CHARS) {
          throw new ConfigError(
              path,
              "a key of "
                  + e.getKey().length()
                  + " characters (expected: at most "
                  + MAX_VALUE_CHARS
                  + " characters)");
        }
        requireShortValues(at, e.getValue());
      }
    }
  }

  /** Returns why a file cannot be read: {@code no such file}, not the JDK's repeated path. */
  private static String why(IOException e) {
    String why;
    if (e instanceof NoSuchFileException) {
      why = "no such file";
    } else if (e instanceof AccessDeniedException) {
      why = "permission denied";
    } else if (e instanceof FileSystemException f && f.getReason() != null) {
      why = f.getReason();
    } else {
      why = String.valueOf(e.getMessage());
    }
    return why.isEmpty() ? e.toString() : Character.toLowerCase(why.charAt(0)) + why.substring(1);
  }

  /**
   * Reads and checks YAML {@code text}, naming it {@code name} in errors.
   *
   * @throws IllegalArgumentException with the name, path, value and expectation of the first error
   */
  public static ProxyConfig parse(String name, String text) {
    requireBounded(name, text);
    JsonNode root;
    JsonParser parser = null;
    try {
      parser = YAML.createParser(text);
      root = YAML.readTree(parser);
    } catch (StreamConstraintsException e) {
      // deeper than MAX_NESTING_DEPTH: the parser stands where it refused
      int line = parser.currentLocation().getLineNr();
      String path = path(parser.getParsingContext(), "");
      throw new IllegalArgumentException(
          name
              + (line > 0 ? ":" + line : "")
              + ": "
              + (path.isEmpty() ? "" : path + ": ")
              + "nested deeper than "
              + MAX_NESTING_DEPTH
              + " levels (expected: at most "
              + MAX_NESTING_DEPTH
              + " levels of mappings and lists)",
          e);
    } catch (JsonProcessingException e) {
      String duplicate = duplicate(name, e);
      if (duplicate != null) {
        throw new IllegalArgumentException(duplicate, e);
      }
      String where = e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr();
      throw new IllegalArgumentException(
          name + ": not valid YAML" + where + ": " + e.getOriginalMessage(), e);
    } catch (IOException e) { // a String has no I/O to fail
      throw new IllegalArgumentException(name + ": cannot read: " + e, e);
    } finally {
      closeQuietly(parser);
    }
    try {
      if (root != null) {
        requireShortValues("", root);
      }
      if (root == null || !root.isObject()) {
        throw new ConfigError("", "(expected: a mapping with frontends, backendPools, rules...)");
      }
      return read(new Node("", root), SourceProviders.load());
    } catch (ConfigError e) {
      throw new IllegalArgumentException(name + line(text, e.path) + ": " + e.getMessage(), e);
    } catch (IllegalArgumentException | IllegalStateException e) {
      // the model's cross-reference checks name a path first: "loadBalancingRules[1].backendPool:"
      String m = String.valueOf(e.getMessage());
      int colon = m.indexOf(": ");
      String path = colon > 0 ? m.substring(0, colon) : "";
      throw new IllegalArgumentException(
          name + (PATH.matcher(path).matches() ? line(text, path) : "") + ": " + m, e);
    }
  }

  /** A path in the file, or in a source's settings: {@code backendPools[0].backends[1].weight}. */
  private static final Pattern PATH =
      Pattern.compile("[A-Za-z_][A-Za-z0-9_-]*(\\[[0-9]+]|\\.[A-Za-z_][A-Za-z0-9_-]*)*");

  /**
   * Returns {@code :14}, the line of {@code path} in {@code text} (or of its nearest ancestor
   * there), or an empty string when there is none: the file's own structure such as the root.
   */
  private static String line(String text, String path) {
    if (path.isEmpty()) {
      return "";
    }
    int line = YamlLines.of(YAML, text).lineOf(path);
    return line > 0 ? ":" + line : "";
  }

  /**
   * Returns {@code lb.yaml:20: loadBalancingRules[0].backendPort: duplicate key} when {@code e} is
   * Jackson's duplicate-key refusal, else null.
   */
  private static String duplicate(String name, JsonProcessingException e) {
    if (!(e instanceof StreamReadException r)
        || r.getProcessor() == null
        || e.getOriginalMessage() == null
        || !e.getOriginalMessage().startsWith("Duplicate field '")) {
      return null;
    }
    String message = e.getOriginalMessage();
    String key = message.substring("Duplicate field '".length(), message.lastIndexOf('\''));
    String path = path(r.getProcessor().getParsingContext().getParent(), key);
    int line = e.getLocation() == null ? 0 : e.getLocation().getLineNr();
    return name + (line > 0 ? ":" + line : "") + ": " + path + ": duplicate key";
  }

  /** Returns the path of {@code from} in the document, followed by {@code tail}. */
  private static String path(JsonStreamContext from, String tail) {
    String path = tail;
    for (JsonStreamContext c = from; c != null && !c.inRoot(); c = c.getParent()) {
      String step = c.inArray() ? "[" + c.getCurrentIndex() + "]" : c.getCurrentName();
      if (step != null) {
        path = step + (path.isEmpty() || path.startsWith("[") ? "" : ".") + path;
      }
    }
    return path;
  }

  private static void closeQuietly(JsonParser parser) {
    if (parser != null) {
      try {
        parser.close();
      } catch (IOException ignored) {
        // a parser over a String holds nothing to release
      }
    }
  }

  private static ProxyConfig read(Node root, SourceProviders providers) {
    root.only(
        "frontends",
        "backendPools",
        "probes",
        "loadBalancingRules",
        "inboundNatRules",
        "admin",
        "shutdown",
        "proxy",
        "logging");
    LoadBalancerConfig.Builder lb = LoadBalancerConfig.builder();
    Map<String, FrontendOptions> frontendOptions = new HashMap<>();
    Map<String, RuleOptions> ruleOptions = new HashMap<>();
    Set<String> poolNames = new HashSet<>();
    Map<String, PoolDiscovery> discovery = new HashMap<>();

    for (Node f : root.list("frontends", true)) {
      f.only(
          "name",
          "address",
          "acceptProxyProtocol",
          "proxyProtocolTimeout",
          "maxConnections",
          "allow",
          "deny");
      String fname = f.string("name", null);
      lb.frontend(f.build(() -> Frontend.of(fname, f.string("address", null))));
      List<Cidr> allow = new ArrayList<>();
      for (Node c : f.list("allow", false)) {
        allow.add(c.build(() -> Cidr.parse(c.scalar())));
      }
      List<Cidr> deny = new ArrayList<>();
      for (Node c : f.list("deny", false)) {
        deny.add(c.build(() -> Cidr.parse(c.scalar())));
      }
      frontendOptions.put(
          fname,
          f.build(
              () ->
                  new FrontendOptions(
                      f.bool("acceptProxyProtocol", false),
                      f.integer("maxConnections", 0),
                      allow,
                      deny,
                      f.duration(
                          "proxyProtocolTimeout",
                          FrontendOptions.DEFAULT_PROXY_PROTOCOL_TIMEOUT))));
    }

    for (Node p : root.list("backendPools", true)) {
      p.only("name", "backends", "discovery");
      String pname = p.string("name", null);
      if (!poolNames.add(pname)) {
        throw new ConfigError(p.path + ".name", "'" + pname + "' (expected: unique among pools)");
      }
      if (p.has("discovery")) {
        PoolDiscovery d = discovery(pname, p.child("discovery"), providers);
        if (d != null) {
          discovery.put(pname, d);
        }
      }
      List<Backend> backends = new ArrayList<>();
      for (Node b : p.list("backends", false)) {
        b.only("id", "address", "port", "weight", "adminState", "healthOverride");
        backends.add(
            b.build(
                () -> {
                  Backend backend = Backend.of(b.string("id", null), b.string("address", null));
                  return new Backend(
                      backend.id(),
                      backend.address(),
                      b.integer("port", 0),
                      b.integer("weight", Backend.DEFAULT_WEIGHT),
                      b.enumeration("adminState", AdminState.class, AdminState.ENABLED),
                      b.enumeration(
                          "healthOverride", HealthOverride.class, HealthOverride.FOLLOW_PROBE));
                }));
      }
      lb.pool(p.build(() -> new BackendPool(pname, backends)));
    }

    for (Node p : root.list("probes", false)) {
      p.only(
          "name",
          "protocol",
          "port",
          "path",
          "host",
          "interval",
          "timeout",
          "healthyThreshold",
          "unhealthyThreshold",
          "expectedStatuses",
          "jitterPercent",
          "initialState");
      lb.probe(
          p.build(
              () ->
                  HealthProbe.builder(p.string("name", null))
                      .protocol(p.enumeration("protocol", ProbeProtocol.class, ProbeProtocol.TCP))
                      .port(p.integer("port", 0))
                      .path(p.string("path", "/"))
                      .host(p.has("host") ? p.string("host", null) : null)
                      .interval(p.duration("interval", HealthProbe.DEFAULT_INTERVAL))
                      .timeout(p.duration("timeout", HealthProbe.DEFAULT_TIMEOUT))
                      .healthyThreshold(
                          p.integer("healthyThreshold", HealthProbe.DEFAULT_HEALTHY_THRESHOLD))
                      .unhealthyThreshold(
                          p.integer("unhealthyThreshold", HealthProbe.DEFAULT_UNHEALTHY_THRESHOLD))
                      .expectedStatuses(p.string("expectedStatuses", "200"))
                      .jitterPercent(p.integer("jitterPercent", HealthProbe.DEFAULT_JITTER_PERCENT))
                      .initialState(
                          p.enumeration("initialState", HealthState.class, HealthState.UNKNOWN))
                      .build()));
    }

    for (Node r : root.list("loadBalancingRules", false)) {
      r.only(
          withRuleOptions(
              "name",
              "frontend",
              "protocol",
              "frontendPort",
              "backendPool",
              "backendPort",
              "probe",
              "distributionMode",
              "algorithm",
              "maglevTableSize",
              "ringPointsPerWeight",
              "boundedLoadFactor",
              "idleTimeout",
              "tcpReset",
              "floatingIp",
              "unhealthyFlowPolicy",
              "drainTimeout",
              "noHealthyBackendPolicy",
              "panicThresholdPercent",
              "outlierDetection"));
      String rname = r.string("name", null);
      LoadBalancingRule rule =
          r.build(
              () -> {
                LoadBalancingRule.Builder b =
                    LoadBalancingRule.builder(rname)
                        .frontend(r.string("frontend", null))
                        .protocol(r.enumeration("protocol", Protocol.class, Protocol.TCP))
                        .frontendPort(r.integer("frontendPort", null))
                        .backendPool(r.string("backendPool", null))
                        .distributionMode(
                            r.enumeration(
                                "distributionMode",
                                DistributionMode.class,
                                DistributionMode.FIVE_TUPLE))
                        .selection(
                            new SelectionPolicy(
                                r.enumeration(
                                    "algorithm",
                                    SelectionAlgorithm.class,
                                    SelectionAlgorithm.MAGLEV),
                                r.integer(
                                    "maglevTableSize", SelectionPolicy.DEFAULT_MAGLEV_TABLE_SIZE),
                                r.integer(
                                    "ringPointsPerWeight",
                                    SelectionPolicy.DEFAULT_RING_POINTS_PER_WEIGHT),
                                r.decimal("boundedLoadFactor", 0)))
                        .idleTimeout(
                            r.duration("idleTimeout", LoadBalancingRule.DEFAULT_IDLE_TIMEOUT))
                        .tcpReset(r.bool("tcpReset", false))
                        .floatingIp(r.bool("floatingIp", false))
                        .unhealthyFlowPolicy(
                            r.enumeration(
                                "unhealthyFlowPolicy",
                                UnhealthyFlowPolicy.class,
                                UnhealthyFlowPolicy.KEEP))
                        .drainTimeout(
                            r.duration("drainTimeout", LoadBalancingRule.DEFAULT_DRAIN_TIMEOUT))
                        .noHealthyBackendPolicy(
                            r.enumeration(
                                "noHealthyBackendPolicy",
                                NoHealthyBackendPolicy.class,
                                NoHealthyBackendPolicy.FAIL_CLOSED))
                        .panicThresholdPercent(
                            r.integer(
                                "panicThresholdPercent",
                                LoadBalancingRule.DEFAULT_PANIC_THRESHOLD_PERCENT))
                        .outlierDetection(outlier(r));
                if (r.has("backendPort")) {
                  b.backendPort(r.integer("backendPort", null));
                }
                if (r.has("probe")) {
                  b.probe(r.string("probe", null));
                }
                return b.build();
              });
      lb.rule(rule);
      ruleOptions.put(rname, ruleOptions(r));
    }

    for (Node r : root.list("inboundNatRules", false)) {
      r.only(
          withRuleOptions(
              "name",
              "frontend",
              "protocol",
              "frontendPort",
              "backendPool",
              "backend",
              "backendPort",
              "idleTimeout",
              "tcpReset"));
      String rname = r.string("name", null);
      PoolDiscovery source = discovery.get(r.string("backendPool", null));
      if (source != null) {
        throw new ConfigError(
            r.at("backendPool"),
            "'"
                + r.string("backendPool", null)
                + "' takes its members from discovery type '"
                + source.type()
                + "' (expected: a pool whose members are its backends: an inbound NAT rule names"
                + " one backend, and a source may remove any member)");
      }
      lb.natRule(
          r.build(
              () -> {
                InboundNatRule.Builder b =
                    InboundNatRule.builder(rname)
                        .frontend(r.string("frontend", null))
                        .protocol(r.enumeration("protocol", Protocol.class, Protocol.TCP))
                        .frontendPort(r.integer("frontendPort", null))
                        .backendPool(r.string("backendPool", null))
                        .backend(r.string("backend", null))
                        .idleTimeout(
                            r.duration("idleTimeout", LoadBalancingRule.DEFAULT_IDLE_TIMEOUT))
                        .tcpReset(r.bool("tcpReset", false));
                if (r.has("backendPort")) {
                  b.backendPort(r.integer("backendPort", null));
                }
                return b.build();
              }));
      ruleOptions.put(rname, ruleOptions(r));
    }

    LoadBalancerConfig config = lb.build(); // cross-references, with paths in the messages
    AdminOptions admin = AdminOptions.at(DEFAULT_ADMIN);
    if (root.has("admin")) {
      Node a = root.child("admin");
      a.only("enabled", "address", "port", "token", "allowedHosts", "idleTimeout");
      if (!a.bool("enabled", true)) {
        admin = null;
      } else {
        InetAddress address = a.build(() -> IpLiteral.parse(a.string("address", "127.0.0.1")));
        InetSocketAddress at =
            new InetSocketAddress(address, a.integer("port", DEFAULT_ADMIN.getPort()));
        admin = adminOptions(a, at);
      }
    }
    Duration drain = Duration.ofSeconds(30);
    if (root.has("shutdown")) {
      Node s = root.child("shutdown");
      s.only("drainTimeout");
      drain = s.duration("drainTimeout", drain);
    }
    int ioThreads = Runtime.getRuntime().availableProcessors();
    Transport transport = Transport.AUTO;
    long seed = L4LoadBalancer.DEFAULT_SEED;
    if (root.has("proxy")) {
      Node p = root.child("proxy");
      p.only("ioThreads", "transport", "seed");
      ioThreads = p.integer("ioThreads", ioThreads);
      if (ioThreads < 1 || ioThreads > 1024) {
        throw new ConfigError(p.path + ".ioThreads", ioThreads + " (expected: 1-1024)");
      }
      transport = p.enumeration("transport", Transport.class, Transport.AUTO);
      seed = p.has("seed") ? p.longValue("seed") : seed;
    }
    LoggingOptions logging = logging(root);
    if (logging.accessLog()) {
      ruleOptions.replaceAll((rule, options) -> options.withAccessLog(true));
    }
    NettyL4Proxy.check(config, frontendOptions, ruleOptions);
    return new ProxyConfig(
        config,
        frontendOptions,
        ruleOptions,
        admin,
        drain,
        ioThreads,
        transport,
        seed,
        discovery,
        logging);
  }

  /**
   * Reads the {@code logging:} block: {@code level} (the root logger's), {@code levels} (by logger
   * name) and {@code accessLog} (the connection log of every rule). See {@link LoggingOptions}.
   */
  private static LoggingOptions logging(Node root) {
    if (!root.has("logging")) {
      return LoggingOptions.DEFAULT;
    }
    Node l = root.child("logging");
    l.only("level", "levels", "accessLog");
    LoggingOptions.Level level =
        l.has("level")
            ? l.build(() -> LoggingOptions.Level.parse("level", l.string("level", null)))
            : null;
    Map<String, LoggingOptions.Level> levels = new LinkedHashMap<>();
    if (l.has("levels")) {
      Node m = l.child("levels");
      for (Map.Entry<String, JsonNode> e : m.json.properties()) {
        Node v = new Node(m.at(e.getKey()), e.getValue());
        try {
          LoggingOptions.checkLogger(e.getKey());
          levels.put(e.getKey(), LoggingOptions.Level.parse("level", v.scalar()));
        } catch (IllegalArgumentException bad) {
          String msg = bad.getMessage(); // "logger: '...' (...)" or "level: '...' (...)"
          throw new ConfigError(v.path, msg.substring(msg.indexOf(": ") + 2));
        }
      }
    }
    boolean accessLog = l.bool("accessLog", false);
    return new LoggingOptions(level, levels, accessLog);
  }

  /** The keys of a {@code discovery:} block that lb4j reads itself; the rest are the source's. */
  private static final List<String> DISCOVERY_KEYS =
      List.of("type", "applyEmptyAnswer", "maxRemovedPercent");

  /**
   * Reads pool {@code pool}'s {@code discovery:} block: null for {@code static} (the file's
   * backends), else the source's type, settings and guard. The settings are checked by the provider
   * at once, by making a source and closing it unstarted, so that {@code --check} and a reload
   * refuse them with their path and line as they refuse the rest of the file.
   */
  private static PoolDiscovery discovery(String pool, Node d, SourceProviders providers) {
    if (!d.has("type")) {
      if (d.json.size() > 0) {
        throw new ConfigError(
            d.at("type"),
            "missing (expected one of: "
                + providers.known()
                + "; settings such as '"
                + d.json.fieldNames().next()
                + "' belong to a source's type)");
      }
      return null; // discovery: {} is static
    }
    String type = d.string("type", null);
    if (type.equals(PoolDiscovery.STATIC)) {
      d.only("type");
      return null;
    }
    MembershipSourceProvider provider = providers.get(type);
    if (provider == null) {
      throw new ConfigError(
          d.at("type"),
          "'"
              + type
              + "' (expected one of: "
              + providers.known()
              + "; a type other than static needs its module on the class path, such as"
              + " lb-dns for dns)");
    }
    DiscoveryOptions options =
        d.build(
            () ->
                new DiscoveryOptions(
                    d.bool("applyEmptyAnswer", DiscoveryOptions.DEFAULT.applyEmptyAnswer()),
                    d.integer("maxRemovedPercent", DiscoveryOptions.DEFAULT.maxRemovedPercent())));
    Map<String, Object> settings = new LinkedHashMap<>();
    for (Map.Entry<String, JsonNode> e : d.json.properties()) {
      if (!DISCOVERY_KEYS.contains(e.getKey())) {
        settings.put(e.getKey(), YAML.convertValue(e.getValue(), Object.class));
      }
    }
    PoolDiscovery out = new PoolDiscovery(type, settings, options);
    MembershipSource source;
    try {
      source = provider.create(pool, out.settings());
    } catch (RuntimeException | LinkageError e) {
      throw sourceError(d, type, e);
    }
    if (source == null) {
      throw new ConfigError(
          d.path, "type '" + type + "': its provider made no source (expected: a source)");
    }
    try {
      source.close();
    } catch (RuntimeException e) { // a checked source that cannot close is the provider's bug
      logger.warn(
          "pool {}: a {} source made to check its settings did not close: {}", pool, type, e);
    }
    return out;
  }

  /**
   * Returns a provider's refusal of its settings at the path it names: {@code name: missing
   * (expected: ...)} becomes {@code backendPools[0].discovery.name: missing (expected: ...)}, as do
   * {@code discovery.name: ...} and {@code 'name': ...}; a message that names no setting stays
   * whole, at the block.
   */
  private static ConfigError sourceError(Node d, String type, Throwable e) {
    String message = e.getMessage() == null ? e.toString() : e.getMessage();
    int colon = message.indexOf(": ");
    if (e instanceof IllegalArgumentException && colon > 0) {
      String field = message.substring(0, colon);
      if (field.length() > 2 && field.startsWith("'") && field.endsWith("'")) {
        field = field.substring(1, field.length() - 1);
      }
      if (field.startsWith("discovery.")) {
        field = field.substring("discovery.".length());
      }
      if (PATH.matcher(field).matches() && !DISCOVERY_KEYS.contains(field)) {
        return new ConfigError(d.at(field), message.substring(colon + 2));
      }
    }
    return new ConfigError(d.path, "type '" + type + "': " + message);
  }

  /** Reads {@code admin.token}, {@code admin.allowedHosts} and {@code admin.idleTimeout}. */
  private static AdminOptions adminOptions(Node a, InetSocketAddress address) {
    Set<String> hosts = new LinkedHashSet<>();
    for (Node h : a.list("allowedHosts", false)) {
      hosts.add(h.scalar());
    }
    String token = a.has("token") ? a.string("token", null) : null;
    Duration idle = a.duration("idleTimeout", AdminOptions.DEFAULT_IDLE_TIMEOUT);
    return a.build(() -> new AdminOptions(address, token, hosts, idle));
  }

  private static OutlierDetection outlier(Node r) {
    if (!r.has("outlierDetection")) {
      return OutlierDetection.DEFAULT;
    }
    Node o = r.child("outlierDetection");
    o.only("consecutiveFailures", "baseEjectionTime", "maxEjectionTime", "maxEjectionPercent");
    OutlierDetection d = OutlierDetection.DEFAULT;
    return o.build(
        () ->
            new OutlierDetection(
                o.integer("consecutiveFailures", d.consecutiveFailures()),
                o.duration("baseEjectionTime", d.baseEjectionTime()),
                o.duration("maxEjectionTime", d.maxEjectionTime()),
                o.integer("maxEjectionPercent", d.maxEjectionPercent())));
  }

  /** The keys {@link #ruleOptions} reads, which both kinds of rule take. */
  private static final List<String> RULE_OPTION_KEYS =
      List.of(
          "proxyProtocol",
          "connectTimeout",
          "maxConnectAttempts",
          "sourceAddresses",
          "sourcePortWarnPercent");

  /** Returns a rule kind's own keys followed by the proxy's rule options. */
  private static String[] withRuleOptions(String... ruleKeys) {
    List<String> all = new ArrayList<>(Arrays.asList(ruleKeys));
    all.addAll(RULE_OPTION_KEYS);
    return all.toArray(new String[0]);
  }

  private static RuleOptions ruleOptions(Node r) {
    RuleOptions d = RuleOptions.DEFAULT;
    // strict literals, never resolved: "rules[0].sourceAddresses[1]: 'localhost' (expected: ...)"
    List<SourceAddress> sources = new ArrayList<>();
    for (Node a : r.list("sourceAddresses", false)) {
      String text = a.scalar();
      try {
        sources.add(SourceAddress.parse(text));
      } catch (IllegalArgumentException e) {
        String m = e.getMessage(); // "sourceAddress: '...' (expected: ...)": the path says where
        throw new ConfigError(a.path, m.substring(m.indexOf(": ") + 2));
      }
    }
    return r.build(
        () ->
            new RuleOptions(
                r.enumeration("proxyProtocol", ProxyProtocol.class, d.sendProxyProtocol()),
                r.duration("connectTimeout", d.connectTimeout()),
                r.integer("maxConnectAttempts", d.maxConnectAttempts()),
                sources,
                r.integer("sourcePortWarnPercent", d.sourcePortWarnPercent())));
  }

  /** An error at a path, before the file name and the path's line are put in front. */
  private static final class ConfigError extends RuntimeException {
    private static final long serialVersionUID = 1L;

    final String path;

    ConfigError(String path, String message) {
      super(path.isEmpty() ? message : path + ": " + message);
      this.path = path;
    }
  }

  /** A producer that may throw; its errors get the node's path. */
  private interface Build<T> {
    T get() throws Exception;
  }

  /** A YAML node with its path from the root, such as {@code loadBalancingRules[1]}. */
  private static final class Node {
    final String path;
    final JsonNode json;

    Node(String path, JsonNode json) {
      this.path = path;
      this.json = json;
    }

    String at(String field) {
      return path.isEmpty() ? field : path + "." + field;
    }

    boolean has(String field) {
      return json.has(field) && !json.get(field).isNull();
    }

    Node child(String field) {
      JsonNode c = json.get(field);
      if (c == null || !c.isObject()) {
        throw new ConfigError(at(field), describe(c) + " (expected: a mapping)");
      }
      return new Node(at(field), c);
    }

    /** Refuses keys other than {@code known}: typos never pass silently. */
    void only(String... known) {
      Set<String> allowed = new LinkedHashSet<>(Arrays.asList(known));
      for (Iterator<String> it = json.fieldNames(); it.hasNext(); ) {
        String f = it.next();
        if (!allowed.contains(f)) {
          throw new ConfigError(at(f), "unknown key (expected one of: " + allowed + ")");
        }
      }
    }

    List<Node> list(String field, boolean required) {
      JsonNode l = json.get(field);
      if (l == null || l.isNull()) {
        if (required) {
          throw new ConfigError(at(field), "missing (expected: a list)");
        }
        return List.of();
      }
      if (!l.isArray()) {
        throw new ConfigError(at(field), describe(l) + " (expected: a list)");
      }
      List<Node> out = new ArrayList<>();
      for (int i = 0; i < l.size(); i++) {
        out.add(new Node(at(field) + "[" + i + "]", l.get(i)));
      }
      return out;
    }

    String scalar() {
      if (!json.isValueNode() || json.isNull()) {
        throw new ConfigError(path, describe(json) + " (expected: a value)");
      }
      return json.asText();
    }

    String string(String field, String fallback) {
      JsonNode v = json.get(field);
      if (v == null || v.isNull()) {
        if (fallback == null) {
          throw new ConfigError(at(field), "missing (expected: a value)");
        }
        return fallback;
      }
      if (!v.isValueNode()) {
        throw new ConfigError(at(field), describe(v) + " (expected: a value)");
      }
      return v.asText();
    }

    /**
     * Returns the value at {@code field} read by {@code read} when {@code ok} accepts it, {@code
     * fallback} when it is absent (an error when there is none), else an error saying {@code
     * expected}.
     */
    private <T> T typed(
        String field,
        T fallback,
        java.util.function.Predicate<JsonNode> ok,
        String expected,
        java.util.function.Function<JsonNode, T> read) {
      JsonNode v = json.get(field);
      if (v == null || v.isNull()) {
        if (fallback == null) {
          throw new ConfigError(at(field), "missing (expected: " + expected + ")");
        }
        return fallback;
      }
      if (!ok.test(v)) {
        throw new ConfigError(at(field), describe(v) + " (expected: " + expected + ")");
      }
      return read.apply(v);
    }

    int integer(String field, Integer fallback) {
      return typed(
          field,
          fallback,
          v -> v.isIntegralNumber() && v.canConvertToInt(),
          "a whole number",
          JsonNode::asInt);
    }

    long longValue(String field) {
      return typed(
          field,
          null,
          v -> v.isIntegralNumber() && v.canConvertToLong(),
          "a whole number",
          JsonNode::asLong);
    }

    double decimal(String field, double fallback) {
      return typed(field, fallback, JsonNode::isNumber, "a number", JsonNode::asDouble);
    }

    boolean bool(String field, boolean fallback) {
      return typed(field, fallback, JsonNode::isBoolean, "true or false", JsonNode::asBoolean);
    }

    <E extends Enum<E>> E enumeration(String field, Class<E> type, E fallback) {
      JsonNode v = json.get(field);
      if (v == null || v.isNull()) {
        return fallback;
      }
      String s = v.asText().trim().toUpperCase(Locale.ROOT).replace('-', '_');
      for (E e : type.getEnumConstants()) {
        if (e.name().equals(s)) {
          return e;
        }
      }
      throw new ConfigError(
          at(field),
          describe(v) + " (expected one of: " + Arrays.toString(type.getEnumConstants()) + ")");
    }

    Duration duration(String field, Duration fallback) {
      JsonNode v = json.get(field);
      if (v == null || v.isNull()) {
        return fallback;
      }
      if (!v.isValueNode()) {
        throw new ConfigError(at(field), describe(v) + " (expected: a duration such as 5s)");
      }
      try {
        return Durations.parse(at(field), v.asText());
      } catch (IllegalArgumentException e) {
        throw new ConfigError("", e.getMessage()); // names the path, the value and the forms
      }
    }

    /** Runs {@code build}; an error from a model value gets this node's path in front. */
    <T> T build(Build<T> build) {
      try {
        return build.get();
      } catch (ConfigError e) {
        throw e;
      } catch (IllegalArgumentException | IllegalStateException | NullPointerException e) {
        String message = String.valueOf(e.getMessage());
        int colon = message.indexOf(':');
        String field = colon > 0 ? message.substring(0, colon) : "";
        if (json.has(field)) { // "weight: 70000 (...)" -> "...backends[2].weight: 70000 (...)"
          throw new ConfigError(at(field), message.substring(colon + 2));
        }
        throw new ConfigError(path, message);
      } catch (Exception e) {
        throw new ConfigError(path, e.toString());
      }
    }

    private static String describe(JsonNode v) {
      if (v == null || v.isNull()) {
        return "missing";
      }
      if (v.isTextual()) {
        return "'" + v.asText() + "'";
      }
      if (v.isArray()) {
        return "a list";
      }
      if (v.isObject()) {
        return "a mapping";
      }
      return v.asText();
    }
  }
}
