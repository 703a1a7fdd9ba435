package io.lb4j;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A whole balancer configuration: frontends, backend pools, health probes, load-balancing rules and
 * inbound NAT rules, with every cross-reference checked.
 *
 * <p>Construction refuses a rule naming an unknown frontend, pool or probe, a NAT rule naming an
 * unknown backend, duplicate names, and two rules listening on the same address, protocol and port.
 * Each message says where the problem is and lists what is known, for example {@code
 * "loadBalancingRules[1].backendPool: 'web' is not defined (known pools: [api, db])"}.
 *
 * <p>Instances are immutable and thread-safe.
 *
 * @param frontends the frontends
 * @param pools the backend pools
 * @param probes the health probes
 * @param loadBalancingRules the load-balancing rules
 * @param inboundNatRules the inbound NAT rules
 */
public record LoadBalancerConfig(
    List<Frontend> frontends,
    List<BackendPool> pools,
    List<HealthProbe> probes,
    List<LoadBalancingRule> loadBalancingRules,
    List<InboundNatRule> inboundNatRules) {

  /**
   * Copies the lists and checks names and cross-references.
   *
   * @param frontends the frontends
   * @param pools the backend pools
   * @param probes the health probes
   * @param loadBalancingRules the load-balancing rules
   * @param inboundNatRules the inbound NAT rules
   */
  public LoadBalancerConfig {
    frontends = List.copyOf(Checks.notNull(frontends, "frontends"));
    pools = List.copyOf(Checks.notNull(pools, "pools"));
    probes = List.copyOf(Checks.notNull(probes, "probes"));
    loadBalancingRules = List.copyOf(Checks.notNull(loadBalancingRules, "loadBalancingRules"));
    inboundNatRules = List.copyOf(Checks.notNull(inboundNatRules, "inboundNatRules"));

    Map<String, Frontend> frontendByName = unique("frontends", frontends, Frontend::name);
    Map<String, BackendPool> poolByName = unique("pools", pools, BackendPool::name);
    Map<String, HealthProbe> probeByName = unique("probes", probes, HealthProbe::name);
    List<String> ruleNames = new ArrayList<>();
    for (LoadBalancingRule r : loadBalancingRules) {
      ruleNames.add(r.name());
    }
    for (InboundNatRule r : inboundNatRules) {
      ruleNames.add(r.name());
    }
    checkUniqueRuleNames(ruleNames, loadBalancingRules.size());

    Map<String, String> listeners = new HashMap<>();
    for (int i = 0; i < loadBalancingRules.size(); i++) {
      LoadBalancingRule r = loadBalancingRules.get(i);
      String where = "loadBalancingRules[" + i + "]";
      Frontend fe = known(where + ".frontend", r.frontend(), frontendByName, "frontends");
      known(where + ".backendPool", r.backendPool(), poolByName, "pools");
      if (r.probe() != null) {
        known(where + ".probe", r.probe(), probeByName, "probes");
      }
      claim(listeners, where, r.name(), fe, r.protocol(), r.frontendPort());
    }
    for (int i = 0; i < inboundNatRules.size(); i++) {
      InboundNatRule r = inboundNatRules.get(i);
      String where = "inboundNatRules[" + i + "]";
      Frontend fe = known(where + ".frontend", r.frontend(), frontendByName, "frontends");
      BackendPool pool = known(where + ".backendPool", r.backendPool(), poolByName, "pools");
      if (pool.backend(r.backend()) == null) {
        throw new IllegalArgumentException(
            where
                + ".backend: '"
                + r.backend()
                + "' is not defined in pool '"
                + pool.name()
                + "' (known backends: "
                + pool.backendIds()
                + ")");
      }
      claim(listeners, where, r.name(), fe, r.protocol(), r.frontendPort());
    }
  }

  /** {@return a builder of an empty configuration} */
  public static Builder builder() {
    return new Builder();
  }

  /** {@return a builder initialised with this configuration} */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.frontends.addAll(frontends);
    b.pools.addAll(pools);
    b.probes.addAll(probes);
    b.rules.addAll(loadBalancingRules);
    b.natRules.addAll(inboundNatRules);
    return b;
  }

  /**
   * Returns the frontend named {@code name}, or null.
   *
   * @param name a frontend's name
   * @return the frontend, or null when none has that name
   */
  public Frontend frontend(String name) {
    return find(frontends, name, Frontend::name);
  }

  /**
   * Returns the pool named {@code name}, or null.
   *
   * @param name a pool's name
   * @return the pool, or null when none has that name
   */
  public BackendPool pool(String name) {
    return find(pools, name, BackendPool::name);
  }

  /**
   * Returns the probe named {@code name}, or null.
   *
   * @param name a probe's name
   * @return the probe, or null when none has that name
   */
  public HealthProbe probe(String name) {
    return find(probes, name, HealthProbe::name);
  }

  /**
   * Returns the load-balancing rule named {@code name}, or null.
   *
   * @param name a load-balancing rule's name
   * @return the rule, or null when no load-balancing rule has that name
   */
  public LoadBalancingRule loadBalancingRule(String name) {
    return find(loadBalancingRules, name, LoadBalancingRule::name);
  }

  /**
   * Returns every rule: the load-balancing rules, then the inbound NAT rules, each in the order
   * given. A new list on each call; the control plane's, not the data path's.
   *
   * @return a new, unmodifiable list of every rule
   */
  public List<Rule> rules() {
    List<Rule> all = new ArrayList<>(loadBalancingRules.size() + inboundNatRules.size());
    all.addAll(loadBalancingRules);
    all.addAll(inboundNatRules);
    return List.copyOf(all);
  }

  /**
   * Returns the rule of either kind named {@code name}, or null.
   *
   * @param name a rule's name
   * @return the load-balancing or inbound NAT rule, or null when none has that name
   */
  public Rule rule(String name) {
    Rule r = loadBalancingRule(name);
    return r != null ? r : find(inboundNatRules, name, InboundNatRule::name);
  }

  /** {@return the names of every rule, in the order of {@link #rules()}} */
  public List<String> ruleNames() {
    List<String> names = new ArrayList<>();
    for (Rule r : rules()) {
      names.add(r.name());
    }
    return names;
  }

  /**
   * Returns the rules of either kind whose backend pool is {@code pool}.
   *
   * @param pool a pool's name
   * @return the rules that send flows to the pool, in the order of {@link #rules()}; empty when
   *     none does
   */
  public List<Rule> rulesOfPool(String pool) {
    List<Rule> out = new ArrayList<>();
    for (Rule r : rules()) {
      if (r.backendPool().equals(pool)) {
        out.add(r);
      }
    }
    return out;
  }

  /**
   * Returns this configuration with {@code pool} replacing the pool of the same name.
   *
   * @param pool the new version of a pool of this configuration
   * @return a new configuration; this one is unchanged
   */
  public LoadBalancerConfig withPool(BackendPool pool) {
    Checks.notNull(pool, "pool");
    List<BackendPool> next = new ArrayList<>(pools.size());
    boolean found = false;
    for (BackendPool p : pools) {
      found |= p.name().equals(pool.name());
      next.add(p.name().equals(pool.name()) ? pool : p);
    }
    if (!found) {
      throw new IllegalArgumentException(unknown("pool", pool.name(), "pools", names(pools)));
    }
    return new LoadBalancerConfig(frontends, next, probes, loadBalancingRules, inboundNatRules);
  }

  /**
   * Returns this configuration with {@code rule} replacing the rule of the same name, of either
   * kind, or added after the rules of its kind when no rule has that name.
   *
   * @param rule the new or changed rule
   * @return a new configuration; this one is unchanged
   * @throws IllegalArgumentException if the result is not a valid configuration
   */
  public LoadBalancerConfig withRule(Rule rule) {
    Checks.notNull(rule, "rule");
    List<LoadBalancingRule> lb = new ArrayList<>();
    List<InboundNatRule> nat = new ArrayList<>();
    boolean placed = false;
    for (Rule r : rules()) {
      Rule next = r;
      if (r.name().equals(rule.name())) {
        next = rule;
        placed = true;
      }
      if (next instanceof LoadBalancingRule) {
        lb.add((LoadBalancingRule) next);
      } else {
        nat.add((InboundNatRule) next);
      }
    }
    if (!placed) {
      if (rule instanceof LoadBalancingRule) {
        lb.add((LoadBalancingRule) rule);
      } else {
        nat.add((InboundNatRule) rule);
      }
    }
    return new LoadBalancerConfig(frontends, pools, probes, lb, nat);
  }

  /** Returns the message for a name that is not defined: {@code pool: 'x' is not defined (...)}. */
  static String unknown(String field, String value, String kind, List<String> known) {
    return field + ": '" + value + "' is not defined (known " + kind + ": " + known + ")";
  }

  private interface Named<T> {
    String name(T value);
  }

  private static <T> T find(List<T> values, String name, Named<T> named) {
    for (T v : values) {
      if (named.name(v).equals(name)) {
        return v;
      }
    }
    return null;
  }

  private static <T> Map<String, T> unique(String field, List<T> values, Named<T> named) {
    Map<String, T> byName = new HashMap<>();
    for (int i = 0; i < values.size(); i++) {
      T v = Checks.notNull(values.get(i), field + "[" + i + "]");
      if (byName.putIfAbsent(named.name(v), v) != null) {
        throw new IllegalArgumentException(
            field
                + "["
                + i
                + "].name: '"
                + named.name(v)
                + "' (expected: unique among "
                + field
                + ")");
      }
    }
    return byName;
  }

  private static void checkUniqueRuleNames(List<String> names, int lbRules) {
    Map<String, Integer> seen = new HashMap<>();
    for (int i = 0; i < names.size(); i++) {
      Integer before = seen.putIfAbsent(names.get(i), i);
      if (before != null) {
        String where =
            i < lbRules
                ? "loadBalancingRules[" + i + "]"
                : "inboundNatRules[" + (i - lbRules) + "]";
        throw new IllegalArgumentException(
            where
                + ".name: '"
                + names.get(i)
                + "' (expected: unique among load-balancing and NAT rules)");
      }
    }
  }

  private static <T> T known(String where, String name, Map<String, T> byName, String kind) {
    T value = byName.get(name);
    if (value == null) {
      List<String> known = new ArrayList<>(byName.keySet());
      known.sort(null);
      throw new IllegalArgumentException(unknown(where, name, kind, known));
    }
    return value;
  }

  private static void claim(
      Map<String, String> listeners,
      String where,
      String rule,
      Frontend frontend,
      Protocol protocol,
      int port) {
    InetAddress address = frontend.address();
    String key = address.getHostAddress() + "/" + protocol + "/" + port;
    String previous = listeners.putIfAbsent(key, where + " '" + rule + "'");
    if (previous != null) {
      throw new IllegalArgumentException(
          where
              + ": "
              + protocol
              + " port "
              + port
              + " on "
              + IpLiteral.format(address)
              + " (frontend '"
              + frontend.name()
              + "') is already used by "
              + previous
              + " (expected: one rule per frontend address, protocol and port)");
    }
  }

  private static List<String> names(List<BackendPool> pools) {
    List<String> names = new ArrayList<>();
    for (BackendPool p : pools) {
      names.add(p.name());
    }
    return names;
  }

  /**
   * Builds a {@link LoadBalancerConfig}; {@link #build()} checks the cross-references.
   *
   * <p>Not thread-safe.
   */
  public static final class Builder {
    private final List<Frontend> frontends = new ArrayList<>();
    private final List<BackendPool> pools = new ArrayList<>();
    private final List<HealthProbe> probes = new ArrayList<>();
    private final List<LoadBalancingRule> rules = new ArrayList<>();
    private final List<InboundNatRule> natRules = new ArrayList<>();

    private Builder() {}

    /**
     * Adds a frontend.
     *
     * @param frontend a frontend whose name is not yet used
     * @return this builder
     */
    public Builder frontend(Frontend frontend) {
      frontends.add(Checks.notNull(frontend, "frontend"));
      return this;
    }

    /**
     * Adds a backend pool.
     *
     * @param pool a pool whose name is not yet used
     * @return this builder
     */
    public Builder pool(BackendPool pool) {
      pools.add(Checks.notNull(pool, "pool"));
      return this;
    }

    /**
     * Adds a health probe.
     *
     * @param probe a probe whose name is not yet used
     * @return this builder
     */
    public Builder probe(HealthProbe probe) {
      probes.add(Checks.notNull(probe, "probe"));
      return this;
    }

    /**
     * Adds a load-balancing rule.
     *
     * @param rule a load-balancing rule whose name is not yet used by a rule of either kind
     * @return this builder
     */
    public Builder rule(LoadBalancingRule rule) {
      rules.add(Checks.notNull(rule, "rule"));
      return this;
    }

    /**
     * Adds an inbound NAT rule.
     *
     * @param rule an inbound NAT rule whose name is not yet used by a rule of either kind
     * @return this builder
     */
    public Builder natRule(InboundNatRule rule) {
      natRules.add(Checks.notNull(rule, "rule"));
      return this;
    }

    /**
     * Returns the configuration.
     *
     * @return the validated configuration
     * @throws IllegalArgumentException if a name repeats, a reference is unknown, or two rules
     *     listen on the same address, protocol and port
     */
    public LoadBalancerConfig build() {
      return new LoadBalancerConfig(frontends, pools, probes, rules, natRules);
    }
  }
}
