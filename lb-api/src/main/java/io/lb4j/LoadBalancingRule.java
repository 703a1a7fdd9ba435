package io.lb4j;

import java.time.Duration;

/**
 * Frontend port and protocol to backend pool and port: the unit a balancer is configured in.
 *
 * <pre>{@code
 * LoadBalancingRule rule = LoadBalancingRule.builder("web-http")
 *     .frontend("web").protocol(Protocol.TCP).frontendPort(80)
 *     .backendPool("web").backendPort(8080)
 *     .probe("http-health")
 *     .build();
 * }</pre>
 *
 * <p>Defaults: TCP; backend port equal to the frontend port; no probe (every backend counts as
 * healthy); {@link DistributionMode#FIVE_TUPLE}; {@link SelectionPolicy#maglev()}; idle timeout 4
 * minutes (Azure Load Balancer's; AWS NLB uses 350 s, IPVS 900 s); no TCP reset on idle; no
 * floating IP.
 *
 * <p>Floating IP (direct server return) is carried so that a configuration can say what it wants; a
 * user-space proxy cannot provide it and refuses a rule that asks for it.
 *
 * <p>Instances are immutable and thread-safe.
 *
 * @param name the rule's name, unique in a configuration
 * @param frontend the name of the frontend it listens on
 * @param protocol TCP or UDP
 * @param frontendPort the port it listens on, 1-65535
 * @param backendPool the name of the pool it spreads flows over
 * @param backendPort the port flows are sent to on backends without a port override, 1-65535
 * @param probe the name of the health probe of its backends, or null for none
 * @param distributionMode what the flow hash sees
 * @param selection the selection algorithm and its settings
 * @param idleTimeout how long a flow may be idle before it is forgotten
 * @param tcpReset whether a flow that idles out is reset (RST to both sides) rather than dropped
 *     silently
 * @param floatingIp whether direct server return is requested
 * @param unhealthyFlowPolicy what happens to established flows of a backend that becomes unhealthy
 * @param drainTimeout how long such flows continue under {@link
 *     UnhealthyFlowPolicy#CLOSE_AFTER_DRAIN_TIMEOUT}
 * @param noHealthyBackendPolicy what happens to new flows when backends are unhealthy
 * @param panicThresholdPercent under {@link NoHealthyBackendPolicy#PANIC}, the percentage of
 *     healthy backends below which new flows go to all of them
 * @param outlierDetection passive health from connect failures
 */
public record LoadBalancingRule(
    String name,
    String frontend,
    Protocol protocol,
    int frontendPort,
    String backendPool,
    int backendPort,
    String probe,
    DistributionMode distributionMode,
    SelectionPolicy selection,
    Duration idleTimeout,
    boolean tcpReset,
    boolean floatingIp,
    UnhealthyFlowPolicy unhealthyFlowPolicy,
    Duration drainTimeout,
    NoHealthyBackendPolicy noHealthyBackendPolicy,
    int panicThresholdPercent,
    OutlierDetection outlierDetection)
    implements Rule {

  /** The default drain timeout, 300 s: AWS NLB's default deregistration delay. */
  public static final Duration DEFAULT_DRAIN_TIMEOUT = Duration.ofSeconds(300);

  /** The default panic threshold, 50%: Envoy's {@code healthy_panic_threshold}. */
  public static final int DEFAULT_PANIC_THRESHOLD_PERCENT = 50;

  /** The default idle timeout, 4 minutes: Azure Load Balancer's default. */
  public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofMinutes(4);

  /** The longest idle timeout accepted, 7 days. */
  public static final Duration MAX_IDLE_TIMEOUT = Duration.ofDays(7);

  /**
   * Validates the rule.
   *
   * @param name the rule's name, unique in a configuration
   * @param frontend the name of the frontend it listens on
   * @param protocol TCP or UDP
   * @param frontendPort the port it listens on, 1-65535
   * @param backendPool the name of the pool it spreads flows over
   * @param backendPort the port flows are sent to on backends without a port override, 1-65535
   * @param probe the name of the health probe of its backends, or null for none
   * @param distributionMode what the flow hash sees
   * @param selection the selection algorithm and its settings
   * @param idleTimeout how long a flow may be idle before it is forgotten
   * @param tcpReset whether a flow that idles out is reset (RST to both sides) rather than dropped
   *     silently
   * @param floatingIp whether direct server return is requested
   * @param unhealthyFlowPolicy what happens to established flows of a backend that becomes
   *     unhealthy
   * @param drainTimeout how long such flows continue under {@link
   *     UnhealthyFlowPolicy#CLOSE_AFTER_DRAIN_TIMEOUT}
   * @param noHealthyBackendPolicy what happens to new flows when backends are unhealthy
   * @param panicThresholdPercent under {@link NoHealthyBackendPolicy#PANIC}, the percentage of
   *     healthy backends below which new flows go to all of them
   * @param outlierDetection passive health from connect failures
   */
  public LoadBalancingRule {
    Checks.name("name", name);
    Checks.name("frontend", frontend);
    Checks.notNull(protocol, "protocol");
    Checks.port("frontendPort", frontendPort);
    Checks.name("backendPool", backendPool);
    Checks.port("backendPort", backendPort);
    if (probe != null) {
      Checks.name("probe", probe);
    }
    Checks.notNull(distributionMode, "distributionMode");
    Checks.notNull(selection, "selection");
    checkIdleTimeout(idleTimeout);
    Checks.notNull(unhealthyFlowPolicy, "unhealthyFlowPolicy");
    Checks.positive("drainTimeout", drainTimeout);
    Checks.notNull(noHealthyBackendPolicy, "noHealthyBackendPolicy");
    Checks.range("panicThresholdPercent", panicThresholdPercent, 1, 100);
    Checks.notNull(outlierDetection, "outlierDetection");
  }

  static Duration checkIdleTimeout(Duration idleTimeout) {
    Checks.positive("idleTimeout", idleTimeout);
    if (idleTimeout.compareTo(MAX_IDLE_TIMEOUT) > 0) {
      throw new IllegalArgumentException(
          "idleTimeout: "
              + Durations.format(idleTimeout)
              + " (expected: > 0 and <= "
              + Durations.format(MAX_IDLE_TIMEOUT)
              + ")");
    }
    return idleTimeout;
  }

  /**
   * Returns a builder for a rule named {@code name}.
   *
   * @param name the rule's name: 1-64 characters of {@code [A-Za-z0-9._:-]}, starting with a letter
   *     or digit
   * @return a builder with the defaults; the frontend, frontend port and backend pool must be set
   */
  public static Builder builder(String name) {
    return new Builder(name);
  }

  /** {@return whether the rule has a health probe} */
  public boolean hasProbe() {
    return probe != null;
  }

  /** {@return a builder initialised from this rule} */
  public Builder toBuilder() {
    Builder b =
        new Builder(name)
            .frontend(frontend)
            .protocol(protocol)
            .frontendPort(frontendPort)
            .backendPool(backendPool)
            .backendPort(backendPort)
            .distributionMode(distributionMode)
            .selection(selection)
            .idleTimeout(idleTimeout)
            .tcpReset(tcpReset)
            .floatingIp(floatingIp)
            .unhealthyFlowPolicy(unhealthyFlowPolicy)
            .drainTimeout(drainTimeout)
            .noHealthyBackendPolicy(noHealthyBackendPolicy)
            .panicThresholdPercent(panicThresholdPercent)
            .outlierDetection(outlierDetection);
    return probe == null ? b : b.probe(probe);
  }

  /**
   * Builds a {@link LoadBalancingRule}; each setter validates its argument at once, {@link
   * #build()} checks that the required ones were set.
   *
   * <p>Not thread-safe.
   */
  public static final class Builder {
    private final String name;
    private String frontend;
    private Protocol protocol = Protocol.TCP;
    private int frontendPort;
    private String backendPool;
    private int backendPort;
    private String probe;
    private DistributionMode distributionMode = DistributionMode.FIVE_TUPLE;
    private SelectionPolicy selection = SelectionPolicy.maglev();
    private Duration idleTimeout = DEFAULT_IDLE_TIMEOUT;
    private boolean tcpReset;
    private boolean floatingIp;
    private UnhealthyFlowPolicy unhealthyFlowPolicy = UnhealthyFlowPolicy.KEEP;
    private Duration drainTimeout = DEFAULT_DRAIN_TIMEOUT;
    private NoHealthyBackendPolicy noHealthyBackendPolicy = NoHealthyBackendPolicy.FAIL_CLOSED;
    private int panicThresholdPercent = DEFAULT_PANIC_THRESHOLD_PERCENT;
    private OutlierDetection outlierDetection = OutlierDetection.DEFAULT;

    private Builder(String name) {
      this.name = Checks.name("name", name);
    }

    /**
     * Sets the name of the frontend; required.
     *
     * @param frontend the name of a frontend of the configuration
     * @return this builder
     */
    public Builder frontend(String frontend) {
      this.frontend = Checks.name("frontend", frontend);
      return this;
    }

    /**
     * Sets the protocol; TCP by default.
     *
     * @param protocol TCP or UDP
     * @return this builder
     */
    public Builder protocol(Protocol protocol) {
      this.protocol = Checks.notNull(protocol, "protocol");
      return this;
    }

    /**
     * Sets the frontend port; required.
     *
     * @param port the port the rule listens on, 1-65535
     * @return this builder
     */
    public Builder frontendPort(int port) {
      this.frontendPort = Checks.port("frontendPort", port);
      return this;
    }

    /**
     * Sets the name of the backend pool; required.
     *
     * @param pool the name of a pool of the configuration
     * @return this builder
     */
    public Builder backendPool(String pool) {
      this.backendPool = Checks.name("backendPool", pool);
      return this;
    }

    /**
     * Sets the backend port; the frontend port by default.
     *
     * @param port the port flows are sent to on the backends, 1-65535
     * @return this builder
     */
    public Builder backendPort(int port) {
      this.backendPort = Checks.port("backendPort", port);
      return this;
    }

    /**
     * Sets the name of the health probe; none by default.
     *
     * @param probe the name of a probe of the configuration
     * @return this builder
     */
    public Builder probe(String probe) {
      this.probe = Checks.name("probe", probe);
      return this;
    }

    /**
     * Removes the health probe.
     *
     * @return this builder
     */
    public Builder noProbe() {
      this.probe = null;
      return this;
    }

    /**
     * Sets the distribution mode; {@link DistributionMode#FIVE_TUPLE} by default.
     *
     * @param mode which fields of the flow the hash sees
     * @return this builder
     */
    public Builder distributionMode(DistributionMode mode) {
      this.distributionMode = Checks.notNull(mode, "distributionMode");
      return this;
    }

    /**
     * Sets the selection policy; {@link SelectionPolicy#maglev()} by default.
     *
     * @param selection the algorithm with its settings
     * @return this builder
     */
    public Builder selection(SelectionPolicy selection) {
      this.selection = Checks.notNull(selection, "selection");
      return this;
    }

    /**
     * Sets the selection algorithm with its default settings.
     *
     * @param algorithm the algorithm; table size, points and bounded load keep their defaults
     * @return this builder
     */
    public Builder algorithm(SelectionAlgorithm algorithm) {
      return selection(SelectionPolicy.of(Checks.notNull(algorithm, "algorithm")));
    }

    /**
     * Sets the idle timeout, up to 7 days; 4 minutes by default.
     *
     * @param idleTimeout how long a flow may be idle before it is forgotten: above 0, up to 7 days
     * @return this builder
     */
    public Builder idleTimeout(Duration idleTimeout) {
      this.idleTimeout = checkIdleTimeout(idleTimeout);
      return this;
    }

    /**
     * Sets whether a flow that idles out is reset; false by default.
     *
     * @param tcpReset true to reset both sides (RST) when a flow idles out, false to forget it
     *     silently
     * @return this builder
     */
    public Builder tcpReset(boolean tcpReset) {
      this.tcpReset = tcpReset;
      return this;
    }

    /**
     * Sets whether floating IP (direct server return) is requested; false by default.
     *
     * @param floatingIp true to request direct server return: the backend sees the frontend's
     *     address as the destination
     * @return this builder
     */
    public Builder floatingIp(boolean floatingIp) {
      this.floatingIp = floatingIp;
      return this;
    }

    /**
     * Sets what happens to established flows of an unhealthy backend; keep them by default.
     *
     * @param policy keep the flows, or close them after the drain timeout
     * @return this builder
     */
    public Builder unhealthyFlowPolicy(UnhealthyFlowPolicy policy) {
      this.unhealthyFlowPolicy = Checks.notNull(policy, "unhealthyFlowPolicy");
      return this;
    }

    /**
     * Sets the drain timeout for flows of unhealthy backends; 300 s by default.
     *
     * @param drainTimeout how long flows of an unhealthy or removed backend continue under {@link
     *     UnhealthyFlowPolicy#CLOSE_AFTER_DRAIN_TIMEOUT}; above 0
     * @return this builder
     */
    public Builder drainTimeout(Duration drainTimeout) {
      this.drainTimeout = Checks.positive("drainTimeout", drainTimeout);
      return this;
    }

    /**
     * Sets what happens to new flows when backends are unhealthy; fail closed by default.
     *
     * @param policy fail closed, or panic below the panic threshold
     * @return this builder
     */
    public Builder noHealthyBackendPolicy(NoHealthyBackendPolicy policy) {
      this.noHealthyBackendPolicy = Checks.notNull(policy, "noHealthyBackendPolicy");
      return this;
    }

    /**
     * Sets the panic threshold in percent, 1-100; 50 by default.
     *
     * @param percent the percentage of healthy backends below which {@link
     *     NoHealthyBackendPolicy#PANIC} sends new flows to all backends, 1-100
     * @return this builder
     */
    public Builder panicThresholdPercent(int percent) {
      this.panicThresholdPercent = Checks.range("panicThresholdPercent", percent, 1, 100);
      return this;
    }

    /**
     * Sets passive health; {@link OutlierDetection#DEFAULT} by default.
     *
     * @param outlierDetection the connect-failure ejection settings; {@link
     *     OutlierDetection#DISABLED} for none
     * @return this builder
     */
    public Builder outlierDetection(OutlierDetection outlierDetection) {
      this.outlierDetection = Checks.notNull(outlierDetection, "outlierDetection");
      return this;
    }

    /**
     * Returns the rule.
     *
     * @return the rule; the backend port is the frontend port unless set
     * @throws IllegalArgumentException if the frontend, the frontend port or the backend pool was
     *     not set
     */
    public LoadBalancingRule build() {
      require("frontend", frontend);
      require("backendPool", backendPool);
      if (frontendPort == 0) {
        throw new IllegalArgumentException(
            "frontendPort: not set (expected: 1-65535) in rule '" + name + "'");
      }
      return new LoadBalancingRule(
          name,
          frontend,
          protocol,
          frontendPort,
          backendPool,
          backendPort == 0 ? frontendPort : backendPort,
          probe,
          distributionMode,
          selection,
          idleTimeout,
          tcpReset,
          floatingIp,
          unhealthyFlowPolicy,
          drainTimeout,
          noHealthyBackendPolicy,
          panicThresholdPercent,
          outlierDetection);
    }

    private void require(String field, Object value) {
      if (value == null) {
        throw new IllegalArgumentException(
            field + ": not set (expected: a name) in rule '" + name + "'");
      }
    }
  }
}
