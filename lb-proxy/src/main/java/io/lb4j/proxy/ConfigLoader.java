package io.lb4j.proxy;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonStreamContext;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.lb4j.AdminState;
import io.lb4j.Backend;
import io.lb4j.BackendPool;
import io.lb4j.DistributionMode;
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
import io.lb4j.Rule;
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
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
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
 * too, so that a typo never passes silently, with a "did you mean" when the key is one edit from a
 * known one ({@code Spelling}). A pool's {@code discovery:} block names a {@link
 * MembershipSourceProvider} type found with {@link java.util.ServiceLoader}, whose settings the
 * provider checks as the file is read. See {@code docs/configuration.md}.
 *
 * <p>A file is refused with every error in it ({@link ConfigException}), as {@code haproxy -c}
 * does: each reader records an error in a {@code ConfigErrors} and reads on, so one bad backend
 * does not hide a bad rule. A value that cannot be read makes its element (frontend, pool, backend,
 * probe, rule) invalid: the model's own checks of that element are then left out, since they would
 * only repeat the error, and a rule that names an invalid element has its references left unchecked
 * for the same reason. What stops the reading at once is reported alone: a file over the size
 * limits, or one that is not YAML.
 *
 * <p>Why one class of about 1,000 lines: it reads the file top-down in the file's own structure,
 * and every reader carries the path and line that its errors name; split by section, each part
 * would need the same path bookkeeping and the cross-section checks would straddle them. The
 * readers of one node's values, which record their errors and read on, are {@code ConfigNode}.
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
   * Reads within {@link #MAX_CONFIG_BYTES}, {@link #MAX_VALUE_CHARS} and {@link
   * #MAX_NESTING_DEPTH}. A key given twice in one mapping, which YAML parsers resolve silently (the
   * last one wins), is refused by the loader with the others: {@link YamlLines} finds them.
   */
  private static final ObjectMapper YAML =
      new ObjectMapper(
          YAMLFactory.builder()
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
   * @throws ConfigException with every error: file, line, path, value and expectation
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
      throw fatal("cannot read " + file + ": " + why(e), e);
    }
    return parse(name, text);
  }

  private static ConfigException tooLarge(String name, String size) {
    return fatal(name + ": " + size + " (expected: at most " + MAX_CONFIG_BYTES + " bytes)", null);
  }

  /** Returns an error that stops the reading at once, reported alone. */
  private static ConfigException fatal(String line, Throwable cause) {
    return new ConfigException(List.of(ConfigErrors.oneLine(line)), cause);
  }

  /**
   * Refuses, before parsing, input longer than {@link #MAX_CONFIG_BYTES} or with a line longer than
   * {@link #MAX_VALUE_CHARS}: {@code lb.yaml:3: a line of 10000006 characters (expected: at most
   * 65536 characters on a line)}.
   */
  private static void requireBounded(String name, String text) {
    if (text.length() > MAX_CONFIG_BYTES) {
      throw fatal(
          name
              + ": "
              + text.length()
              + " characters (expected: at most "
              + MAX_CONFIG_BYTES
              + " bytes)",
          null);
    }
    int line = 1;
    int start = 0;
    for (int i = 0; i <= text.length(); i++) {
      if (i == text.length() || text.charAt(i) == '\n') {
        if (i - start > MAX_VALUE_CHARS) {
          throw fatal(
              name
                  + ":"
                  + line
                  + ": a line of "
                  + (i - start)
                  + " characters (expected: at most "
                  + MAX_VALUE_CHARS
                  + " characters on a line)",
              null);
        }
        line++;
        start = i + 1;
      }
    }
  }

  /**
   * Records each key or value longer than {@link #MAX_VALUE_CHARS} (one that spans lines): {@code
   * lb.yaml:12: probes[0].path: a value of 70000 characters (expected: at most 65536 characters)};
   * returns whether there was none.
   */
  private static boolean requireShortValues(String path, JsonNode node, ConfigErrors errors) {
    boolean ok = true;
    if (node.isTextual() && node.textValue().length() > MAX_VALUE_CHARS) {
      ok = false;
      errors.add(
          path,
          "a value of "
              + node.textValue().length()
              + " characters (expected: at most "
              + MAX_VALUE_CHARS
              + " characters)");
    }
    if (node.isArray()) {
      for (int i = 0; i < node.size(); i++) {
        ok &= requireShortValues(path + "[" + i + "]", node.get(i), errors);
      }
    } else if (node.isObject()) {
      for (Map.Entry<String, JsonNode> e : node.properties()) {
        if (e.getKey().length() > MAX_VALUE_CHARS) {
          ok = false;
          errors.add(
              path,
              "a key of "
                  + e.getKey().length()
                  + " characters (expected: at most "
                  + MAX_VALUE_CHARS
                  + " characters)");
          continue; // its path would hold the whole key
        }
        String at = path.isEmpty() ? e.getKey() : path + "." + e.getKey();
        ok &= requireShortValues(at, e.getValue(), errors);
      }
    }
    return ok;
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
   * @throws ConfigException with every error: name, line, path, value and expectation
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
      throw fatal(
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
      String where = e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr();
      throw fatal(name + ": not valid YAML" + where + ": " + e.getOriginalMessage(), e);
    } catch (IOException e) { // a String has no I/O to fail
      throw fatal(name + ": cannot read: " + e, e);
    } finally {
      closeQuietly(parser);
    }
    YamlLines lines = YamlLines.of(YAML, text);
    ConfigErrors errors = new ConfigErrors();
    for (String key : lines.duplicates()) {
      errors.add(key, "duplicate key");
    }
    if (root != null && !requireShortValues("", root, errors)) {
      throw errors.toException(name, lines, null); // read on, and a message would hold the value
    }
    if (root == null || !root.isObject()) {
      errors.add("", "(expected: a mapping with frontends, backendPools, rules...)");
      throw errors.toException(name, lines, null);
    }
    ProxyConfig config = null;
    RuntimeException unexpected = null;
    try {
      config = read(new ConfigNode("", root, null, errors), SourceProviders.load());
    } catch (IllegalArgumentException | IllegalStateException e) {
      // a check this reader does not make itself; the model's name a path first
      unexpected = e;
      pathFirst(errors, e.getMessage());
    }
    if (!errors.isEmpty()) {
      throw errors.toException(name, lines, unexpected);
    }
    return config;
  }

  /**
   * Records {@code message}, such as the model's {@code loadBalancingRules[1].backendPool: 'web' is
   * not defined (...)}, at the path it starts with (the whole file when it starts with none).
   */
  private static void pathFirst(ConfigErrors errors, String message) {
    String m = String.valueOf(message);
    int colon = m.indexOf(": ");
    String path = colon > 0 ? m.substring(0, colon) : "";
    if (PATH.matcher(path).matches()) {
      errors.add(path, m.substring(colon + 2));
    } else {
      errors.add("", m);
    }
  }

  /** A path in the file, or in a source's settings: {@code backendPools[0].backends[1].weight}. */
  private static final Pattern PATH =
      Pattern.compile("[A-Za-z_][A-Za-z0-9_-]*(\\[[0-9]+]|\\.[A-Za-z_][A-Za-z0-9_-]*)*");

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

  /**
   * Reads the file's sections, recording every error in {@code root}'s {@code ConfigErrors};
   * returns the configuration, or null when there was an error.
   */
  private static ProxyConfig read(ConfigNode root, SourceProviders providers) {
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
    Defined<Frontend> frontends = new Defined<>("frontends");
    Defined<BackendPool> pools = new Defined<>("pools");
    Defined<HealthProbe> probes = new Defined<>("probes");
    Defined<Rule> rules = new Defined<>("load-balancing and NAT rules");
    Map<String, FrontendOptions> frontendOptions = new HashMap<>();
    Map<String, RuleOptions> ruleOptions = new HashMap<>();
    Map<String, PoolDiscovery> discovery = new HashMap<>();
    Map<String, String> listeners = new HashMap<>();

    for (ConfigNode f : root.list("frontends", true)) {
      f.only(
          "name",
          "address",
          "acceptProxyProtocol",
          "proxyProtocolTimeout",
          "maxConnections",
          "allow",
          "deny");
      String fname = f.string("name", null);
      boolean unique = frontends.declare(f, fname);
      String address = f.string("address", null);
      boolean acceptProxyProtocol = f.bool("acceptProxyProtocol", false);
      int maxConnections = f.integer("maxConnections", 0);
      List<Cidr> allow = cidrs(f, "allow");
      List<Cidr> deny = cidrs(f, "deny");
      Duration proxyProtocolTimeout =
          f.duration("proxyProtocolTimeout", FrontendOptions.DEFAULT_PROXY_PROTOCOL_TIMEOUT);
      Frontend frontend = f.build(() -> Frontend.of(fname, address));
      FrontendOptions options =
          f.build(
              () ->
                  new FrontendOptions(
                      acceptProxyProtocol, maxConnections, allow, deny, proxyProtocolTimeout));
      if (unique && frontend != null && options != null) {
        frontends.accept(fname, frontend);
        frontendOptions.put(fname, options);
      }
    }

    for (ConfigNode p : root.list("backendPools", true)) {
      p.only("name", "backends", "discovery");
      String pname = p.string("name", null);
      boolean unique = pools.declare(p, pname);
      if (p.has("discovery")) {
        PoolDiscovery d = discovery(pname, p.child("discovery"), providers);
        if (d != null && unique) {
          discovery.put(pname, d);
        }
      }
      List<Backend> backends = new ArrayList<>();
      for (ConfigNode b : p.list("backends", false)) {
        b.only("id", "address", "port", "weight", "adminState", "healthOverride");
        String id = b.string("id", null);
        String address = b.string("address", null);
        int port = b.integer("port", 0);
        int weight = b.integer("weight", Backend.DEFAULT_WEIGHT);
        AdminState adminState = b.enumeration("adminState", AdminState.class, AdminState.ENABLED);
        HealthOverride override =
            b.enumeration("healthOverride", HealthOverride.class, HealthOverride.FOLLOW_PROBE);
        Backend backend =
            b.build(
                () -> {
                  Backend at = Backend.of(id, address);
                  return new Backend(at.id(), at.address(), port, weight, adminState, override);
                });
        if (backend != null) {
          backends.add(backend);
        }
      }
      BackendPool pool = p.build(() -> new BackendPool(pname, backends));
      if (unique && pool != null) {
        pools.accept(pname, pool);
      }
    }

    for (ConfigNode p : root.list("probes", false)) {
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
      String pname = p.string("name", null);
      boolean unique = probes.declare(p, pname);
      ProbeProtocol protocol = p.enumeration("protocol", ProbeProtocol.class, ProbeProtocol.TCP);
      int port = p.integer("port", 0);
      String path = p.string("path", "/");
      String host = p.has("host") ? p.string("host", null) : null;
      Duration interval = p.duration("interval", HealthProbe.DEFAULT_INTERVAL);
      Duration timeout = p.duration("timeout", HealthProbe.DEFAULT_TIMEOUT);
      int healthy = p.integer("healthyThreshold", HealthProbe.DEFAULT_HEALTHY_THRESHOLD);
      int unhealthy = p.integer("unhealthyThreshold", HealthProbe.DEFAULT_UNHEALTHY_THRESHOLD);
      String statuses = p.string("expectedStatuses", "200");
      int jitter = p.integer("jitterPercent", HealthProbe.DEFAULT_JITTER_PERCENT);
      HealthState initial = p.enumeration("initialState", HealthState.class, HealthState.UNKNOWN);
      HealthProbe probe =
          p.build(
              () ->
                  HealthProbe.builder(pname)
                      .protocol(protocol)
                      .port(port)
                      .path(path)
                      .host(host)
                      .interval(interval)
                      .timeout(timeout)
                      .healthyThreshold(healthy)
                      .unhealthyThreshold(unhealthy)
                      .expectedStatuses(statuses)
                      .jitterPercent(jitter)
                      .initialState(initial)
                      .build());
      if (unique && probe != null) {
        probes.accept(pname, probe);
      }
    }

    List<LoadBalancingRule> lbRules = new ArrayList<>();
    for (ConfigNode r : root.list("loadBalancingRules", false)) {
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
      boolean unique = rules.declare(r, rname);
      String feName = r.string("frontend", null);
      String poolName = r.string("backendPool", null);
      String probeName = r.has("probe") ? r.string("probe", null) : null;
      Protocol protocol = r.enumeration("protocol", Protocol.class, Protocol.TCP);
      int frontendPort = r.integer("frontendPort", null);
      Integer backendPort = r.has("backendPort") ? r.integer("backendPort", null) : null;
      DistributionMode mode =
          r.enumeration("distributionMode", DistributionMode.class, DistributionMode.FIVE_TUPLE);
      SelectionAlgorithm algorithm =
          r.enumeration("algorithm", SelectionAlgorithm.class, SelectionAlgorithm.MAGLEV);
      int tableSize = r.integer("maglevTableSize", SelectionPolicy.DEFAULT_MAGLEV_TABLE_SIZE);
      int ringPoints =
          r.integer("ringPointsPerWeight", SelectionPolicy.DEFAULT_RING_POINTS_PER_WEIGHT);
      double boundedLoad = r.decimal("boundedLoadFactor", 0);
      Duration idleTimeout = r.duration("idleTimeout", LoadBalancingRule.DEFAULT_IDLE_TIMEOUT);
      boolean tcpReset = r.bool("tcpReset", false);
      boolean floatingIp = r.bool("floatingIp", false);
      UnhealthyFlowPolicy unhealthyFlows =
          r.enumeration("unhealthyFlowPolicy", UnhealthyFlowPolicy.class, UnhealthyFlowPolicy.KEEP);
      Duration drainTimeout = r.duration("drainTimeout", LoadBalancingRule.DEFAULT_DRAIN_TIMEOUT);
      NoHealthyBackendPolicy noHealthy =
          r.enumeration(
              "noHealthyBackendPolicy",
              NoHealthyBackendPolicy.class,
              NoHealthyBackendPolicy.FAIL_CLOSED);
      int panic =
          r.integer("panicThresholdPercent", LoadBalancingRule.DEFAULT_PANIC_THRESHOLD_PERCENT);
      OutlierDetection outliers = outlier(r);
      LoadBalancingRule rule =
          r.build(
              () -> {
                LoadBalancingRule.Builder b =
                    LoadBalancingRule.builder(rname)
                        .frontend(feName)
                        .protocol(protocol)
                        .frontendPort(frontendPort)
                        .backendPool(poolName)
                        .distributionMode(mode)
                        .selection(
                            new SelectionPolicy(algorithm, tableSize, ringPoints, boundedLoad))
                        .idleTimeout(idleTimeout)
                        .tcpReset(tcpReset)
                        .floatingIp(floatingIp)
                        .unhealthyFlowPolicy(unhealthyFlows)
                        .drainTimeout(drainTimeout)
                        .noHealthyBackendPolicy(noHealthy)
                        .panicThresholdPercent(panic)
                        .outlierDetection(outliers);
                if (backendPort != null) {
                  b.backendPort(backendPort);
                }
                if (probeName != null) {
                  b.probe(probeName);
                }
                return b.build();
              });
      RuleOptions options = ruleOptions(r);
      // references are checked whether or not the rule itself was read
      Frontend frontend = frontends.resolve(r, "frontend", feName);
      BackendPool pool = pools.resolve(r, "backendPool", poolName);
      HealthProbe probe = probeName == null ? null : probes.resolve(r, "probe", probeName);
      if (unique
          && rule != null
          && options != null
          && frontend != null
          && pool != null
          && (probeName == null || probe != null)
          && claim(listeners, r, rule, frontend)
          && proxyCan(
              r,
              new LoadBalancerConfig(
                  List.of(frontend),
                  List.of(pool),
                  probe == null ? List.of() : List.of(probe),
                  List.of(rule),
                  List.of()))) {
        lbRules.add(rule);
        ruleOptions.put(rname, options);
      }
    }

    List<InboundNatRule> natRules = new ArrayList<>();
    for (ConfigNode r : root.list("inboundNatRules", false)) {
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
      boolean unique = rules.declare(r, rname);
      String feName = r.string("frontend", null);
      String poolName = r.string("backendPool", null);
      String backendId = r.string("backend", null);
      Protocol protocol = r.enumeration("protocol", Protocol.class, Protocol.TCP);
      int frontendPort = r.integer("frontendPort", null);
      Integer backendPort = r.has("backendPort") ? r.integer("backendPort", null) : null;
      Duration idleTimeout = r.duration("idleTimeout", LoadBalancingRule.DEFAULT_IDLE_TIMEOUT);
      boolean tcpReset = r.bool("tcpReset", false);
      InboundNatRule rule =
          r.build(
              () -> {
                InboundNatRule.Builder b =
                    InboundNatRule.builder(rname)
                        .frontend(feName)
                        .protocol(protocol)
                        .frontendPort(frontendPort)
                        .backendPool(poolName)
                        .backend(backendId)
                        .idleTimeout(idleTimeout)
                        .tcpReset(tcpReset);
                if (backendPort != null) {
                  b.backendPort(backendPort);
                }
                return b.build();
              });
      RuleOptions options = ruleOptions(r);
      Frontend frontend = frontends.resolve(r, "frontend", feName);
      BackendPool pool = pools.resolve(r, "backendPool", poolName);
      PoolDiscovery source = poolName == null ? null : discovery.get(poolName);
      boolean member = false;
      if (source != null) {
        r.error(
            r.at("backendPool"),
            "'"
                + poolName
                + "' takes its members from discovery type '"
                + source.type()
                + "' (expected: a pool whose members are its backends: an inbound NAT rule names"
                + " one backend, and a source may remove any member)");
      } else if (pool != null && backendId != null) {
        member = pool.backend(backendId) != null;
        if (!member) {
          r.error(
              r.at("backend"),
              "'"
                  + backendId
                  + "' is not defined in pool '"
                  + pool.name()
                  + "'"
                  + Spelling.didYouMean(backendId, pool.backendIds())
                  + " (known backends: "
                  + pool.backendIds()
                  + ")");
        }
      }
      if (unique
          && rule != null
          && options != null
          && frontend != null
          && member
          && claim(listeners, r, rule, frontend)
          && proxyCan(
              r,
              new LoadBalancerConfig(
                  List.of(frontend), List.of(pool), List.of(), List.of(), List.of(rule)))) {
        natRules.add(rule);
        ruleOptions.put(rname, options);
      }
    }

    AdminOptions admin = AdminOptions.at(DEFAULT_ADMIN);
    if (root.has("admin")) {
      ConfigNode a = root.child("admin");
      a.only("enabled", "address", "port", "token", "allowedHosts", "idleTimeout");
      if (!a.bool("enabled", true)) {
        admin = null;
      } else {
        String text = a.string("address", "127.0.0.1");
        InetAddress address = a.build(() -> IpLiteral.parse(text));
        int port = a.integer("port", DEFAULT_ADMIN.getPort());
        if (port < 0 || port > 65535) {
          a.fail(a.at("port"), port + " (expected: 0-65535)");
        }
        admin =
            a.failed() ? null : adminOptions(a, new InetSocketAddress(address, port)); // checked
      }
    }
    Duration drain = Duration.ofSeconds(30);
    if (root.has("shutdown")) {
      ConfigNode s = root.child("shutdown");
      s.only("drainTimeout");
      drain = s.duration("drainTimeout", drain);
    }
    int ioThreads = Runtime.getRuntime().availableProcessors();
    Transport transport = Transport.AUTO;
    boolean reusePort = true;
    long seed = L4LoadBalancer.DEFAULT_SEED;
    if (root.has("proxy")) {
      ConfigNode p = root.child("proxy");
      p.only("ioThreads", "transport", "reusePort", "seed");
      ioThreads = p.integer("ioThreads", ioThreads);
      if (ioThreads < 1 || ioThreads > 1024) {
        p.fail(p.at("ioThreads"), ioThreads + " (expected: 1-1024)");
      }
      transport = p.enumeration("transport", Transport.class, Transport.AUTO);
      reusePort = p.bool("reusePort", reusePort);
      seed = p.has("seed") ? p.longValue("seed") : seed;
    }
    LoggingOptions logging = logging(root);
    if (!root.errors.isEmpty()) {
      return null;
    }
    // each element was checked as it was read; the model checks the whole once more
    LoadBalancerConfig config =
        new LoadBalancerConfig(
            List.copyOf(frontends.valid.values()),
            List.copyOf(pools.valid.values()),
            List.copyOf(probes.valid.values()),
            lbRules,
            natRules);
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
        reusePort,
        seed,
        discovery,
        logging);
  }

  /**
   * Reads the {@code logging:} block: {@code level} (the root logger's), {@code levels} (by logger
   * name) and {@code accessLog} (the connection log of every rule). See {@link LoggingOptions}.
   */
  private static LoggingOptions logging(ConfigNode root) {
    if (!root.has("logging")) {
      return LoggingOptions.DEFAULT;
    }
    ConfigNode l = root.child("logging");
    l.only("level", "levels", "accessLog");
    String levelText = l.has("level") ? l.string("level", null) : null;
    LoggingOptions.Level level =
        levelText == null ? null : l.build(() -> LoggingOptions.Level.parse("level", levelText));
    Map<String, LoggingOptions.Level> levels = new LinkedHashMap<>();
    if (l.has("levels")) {
      ConfigNode m = l.child("levels");
      for (Map.Entry<String, JsonNode> e : m.json.properties()) {
        ConfigNode v = new ConfigNode(m.at(e.getKey()), e.getValue(), m, m.errors);
        String text = v.scalar();
        if (text == null) {
          continue; // recorded
        }
        try {
          LoggingOptions.checkLogger(e.getKey());
          levels.put(e.getKey(), LoggingOptions.Level.parse("level", text));
        } catch (IllegalArgumentException bad) {
          String msg = bad.getMessage(); // "logger: '...' (...)" or "level: '...' (...)"
          v.fail(v.path, msg.substring(msg.indexOf(": ") + 2));
        }
      }
    }
    boolean accessLog = l.bool("accessLog", false);
    return new LoggingOptions(level, levels, accessLog);
  }

  /** Reads the addresses of list {@code field} of frontend {@code f}, leaving out invalid ones. */
  private static List<Cidr> cidrs(ConfigNode f, String field) {
    List<Cidr> out = new ArrayList<>();
    for (ConfigNode c : f.list(field, false)) {
      String text = c.scalar();
      Cidr cidr = c.build(() -> Cidr.parse(text));
      if (cidr != null) {
        out.add(cidr);
      }
    }
    return out;
  }

  /**
   * The elements of one kind read so far: every name given, to check uniqueness and references, and
   * the elements read without an error. Not thread-safe.
   */
  private static final class Defined<T> {
    final String kind;
    final Set<String> names = new HashSet<>();
    final Map<String, T> valid = new LinkedHashMap<>();

    Defined(String kind) {
      this.kind = kind;
    }

    /**
     * Notes element {@code e}'s name; returns false, with an error, when an element before it has
     * it, and false when it has none (its error is recorded already).
     */
    boolean declare(ConfigNode e, String name) {
      if (name == null) {
        return false;
      }
      if (!names.add(name)) {
        e.refuse(e.at("name"), "'" + name + "' (expected: unique among " + kind + ")");
        return false;
      }
      return true;
    }

    void accept(String name, T value) {
      valid.put(name, value);
    }

    /**
     * Returns the element {@code name} that {@code field} of {@code r} refers to; null, with an
     * error, when no element has that name, and null alone when the element has errors of its own
     * (then the reference cannot be checked, and an error would only repeat) or {@code name} is
     * null (it could not be read).
     */
    T resolve(ConfigNode r, String field, String name) {
      if (name == null) {
        return null;
      }
      if (!names.contains(name)) {
        List<String> known = new ArrayList<>(names);
        known.sort(null);
        r.error(
            r.at(field),
            "'"
                + name
                + "' is not defined"
                + Spelling.didYouMean(name, known)
                + " (known "
                + kind
                + ": "
                + known
                + ")");
        return null;
      }
      return valid.get(name);
    }
  }

  /**
   * Claims the frontend address, protocol and port of rule {@code rule} (read from {@code r});
   * false, with an error, when a rule before it has them.
   */
  private static boolean claim(
      Map<String, String> listeners, ConfigNode r, Rule rule, Frontend frontend) {
    String key =
        frontend.address().getHostAddress() + "/" + rule.protocol() + "/" + rule.frontendPort();
    String previous = listeners.putIfAbsent(key, r.path + " '" + rule.name() + "'");
    if (previous != null) {
      r.error(
          r.at("frontendPort"),
          rule.protocol()
              + " port "
              + rule.frontendPort()
              + " on "
              + IpLiteral.format(frontend.address())
              + " (frontend '"
              + frontend.name()
              + "') is already used by "
              + previous
              + " (expected: one rule per frontend address, protocol and port)");
      return false;
    }
    return true;
  }

  /**
   * Returns whether the proxy can carry the one rule of {@code config} (read from {@code r}); an
   * error at the key it names otherwise: {@code loadBalancingRules[0].floatingIp: true (expected:
   * false; ...)}.
   */
  private static boolean proxyCan(ConfigNode r, LoadBalancerConfig config) {
    try {
      NettyL4Proxy.check(config, Map.of(), Map.of());
      return true;
    } catch (IllegalStateException e) {
      // "rule 'http': floatingIp: true (...)", "load-balancing rule 'x': protocol: UDP (...)"
      String m = String.valueOf(e.getMessage());
      int named = m.indexOf("': ");
      String rest = named >= 0 ? m.substring(named + 3) : m;
      int colon = rest.indexOf(": ");
      String field = colon > 0 ? rest.substring(0, colon) : "";
      if (r.json.has(field)) {
        r.error(r.at(field), rest.substring(colon + 2));
      } else {
        r.error(r.path, m);
      }
      return false;
    }
  }

  /** The keys of a {@code discovery:} block that lb4j reads itself; the rest are the source's. */
  private static final List<String> DISCOVERY_KEYS =
      List.of("type", "applyEmptyAnswer", "maxRemovedPercent");

  /**
   * Reads pool {@code pool}'s {@code discovery:} block: null for {@code static} (the file's
   * backends) or an error, else the source's type, settings and guard. The settings are checked by
   * the provider at once, by making a source and closing it unstarted, so that {@code --check} and
   * a reload refuse them with their path and line as they refuse the rest of the file.
   */
  private static PoolDiscovery discovery(String pool, ConfigNode d, SourceProviders providers) {
    if (!d.has("type")) {
      if (d.json.size() > 0) {
        d.fail(
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
    if (type == null) {
      return null;
    }
    if (type.equals(PoolDiscovery.STATIC)) {
      d.only("type");
      return null;
    }
    MembershipSourceProvider provider = providers.get(type);
    if (provider == null) {
      d.fail(
          d.at("type"),
          "'"
              + type
              + "'"
              + Spelling.didYouMean(type, providers.types())
              + " (expected one of: "
              + providers.known()
              + "; a type other than static needs its module on the class path, such as"
              + " lb-dns for dns)");
      return null;
    }
    boolean applyEmpty = d.bool("applyEmptyAnswer", DiscoveryOptions.DEFAULT.applyEmptyAnswer());
    int maxRemoved = d.integer("maxRemovedPercent", DiscoveryOptions.DEFAULT.maxRemovedPercent());
    DiscoveryOptions options = d.build(() -> new DiscoveryOptions(applyEmpty, maxRemoved));
    if (options == null || pool == null) {
      return null; // the guard or the pool's name has an error: the provider is asked next time
    }
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
      sourceError(d, type, e);
      return null;
    }
    if (source == null) {
      d.fail(d.path, "type '" + type + "': its provider made no source (expected: a source)");
      return null;
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
   * Records a provider's refusal of its settings at the path it names: {@code name: missing
   * (expected: ...)} becomes {@code backendPools[0].discovery.name: missing (expected: ...)}, as do
   * {@code discovery.name: ...} and {@code 'name': ...}; a message that names no setting stays
   * whole, at the block.
   */
  private static void sourceError(ConfigNode d, String type, Throwable e) {
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
        d.fail(d.at(field), message.substring(colon + 2));
        return;
      }
    }
    d.fail(d.path, "type '" + type + "': " + message);
  }

  /** Reads {@code admin.token}, {@code admin.allowedHosts} and {@code admin.idleTimeout}. */
  private static AdminOptions adminOptions(ConfigNode a, InetSocketAddress address) {
    Set<String> hosts = new LinkedHashSet<>();
    for (ConfigNode h : a.list("allowedHosts", false)) {
      String host = h.scalar();
      if (host != null) {
        hosts.add(host);
      }
    }
    String token = a.has("token") ? a.string("token", null) : null;
    Duration idle = a.duration("idleTimeout", AdminOptions.DEFAULT_IDLE_TIMEOUT);
    return a.build(() -> new AdminOptions(address, token, hosts, idle));
  }

  private static OutlierDetection outlier(ConfigNode r) {
    if (!r.has("outlierDetection")) {
      return OutlierDetection.DEFAULT;
    }
    ConfigNode o = r.child("outlierDetection");
    o.only("consecutiveFailures", "baseEjectionTime", "maxEjectionTime", "maxEjectionPercent");
    OutlierDetection d = OutlierDetection.DEFAULT;
    int failures = o.integer("consecutiveFailures", d.consecutiveFailures());
    Duration base = o.duration("baseEjectionTime", d.baseEjectionTime());
    Duration max = o.duration("maxEjectionTime", d.maxEjectionTime());
    int percent = o.integer("maxEjectionPercent", d.maxEjectionPercent());
    return o.build(() -> new OutlierDetection(failures, base, max, percent));
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

  private static RuleOptions ruleOptions(ConfigNode r) {
    RuleOptions d = RuleOptions.DEFAULT;
    // strict literals, never resolved: "rules[0].sourceAddresses[1]: 'localhost' (expected: ...)"
    List<SourceAddress> sources = new ArrayList<>();
    for (ConfigNode a : r.list("sourceAddresses", false)) {
      String text = a.scalar();
      if (text == null) {
        continue;
      }
      try {
        sources.add(SourceAddress.parse(text));
      } catch (IllegalArgumentException e) {
        String m = e.getMessage(); // "sourceAddress: '...' (expected: ...)": the path says where
        a.fail(a.path, m.substring(m.indexOf(": ") + 2));
      }
    }
    ProxyProtocol send = r.enumeration("proxyProtocol", ProxyProtocol.class, d.sendProxyProtocol());
    Duration connectTimeout = r.duration("connectTimeout", d.connectTimeout());
    int attempts = r.integer("maxConnectAttempts", d.maxConnectAttempts());
    int warnPercent = r.integer("sourcePortWarnPercent", d.sourcePortWarnPercent());
    return r.build(() -> new RuleOptions(send, connectTimeout, attempts, sources, warnPercent));
  }
}
