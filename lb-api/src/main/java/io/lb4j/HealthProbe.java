package io.lb4j;

import java.time.Duration;
import java.util.List;

/**
 * A periodic liveness check of every backend of the rules that name it.
 *
 * <pre>{@code
 * HealthProbe http = HealthProbe.builder("http-health")
 *     .protocol(ProbeProtocol.HTTP)
 *     .port(8080)
 *     .path("/healthz")
 *     .expectedStatuses("200-399")
 *     .build();
 * }</pre>
 *
 * <p>Defaults: TCP; interval 5 s and timeout 5 s (Azure Load Balancer's 5 s interval, AWS NLB uses
 * 30 s); 2 successes in a row to become healthy and 3 failures in a row to become unhealthy
 * (HAProxy's {@code rise 2 fall 3}; AWS NLB uses 5 and 2); expected status 200 (Azure; AWS accepts
 * 200-399); path {@code /}; no host name; 10% jitter; a new backend gets no flows until its first
 * passing probe. A {@link #port()} of 0 probes each backend's data port; any other port is probed
 * instead of it, and then a backend may be healthy while its data port is closed.
 *
 * <p>The first probe of a backend starts at a random point within one interval, so that a start
 * with many backends does not probe them all at once; each later interval varies by up to {@code
 * jitterPercent} either way.
 *
 * <p>Instances are immutable and thread-safe.
 *
 * @param name the probe's name, unique in a configuration
 * @param protocol TCP, HTTP or HTTPS
 * @param port the probed port, or 0 for the backend's data port
 * @param path the HTTP(S) request path, starting with '/'
 * @param interval time between the starts of two probes of one backend
 * @param timeout how long one probe may take, at most the interval
 * @param healthyThreshold successes in a row that make a backend healthy, 1-100
 * @param unhealthyThreshold failures in a row that make a backend unhealthy, 1-100
 * @param expectedStatuses the HTTP statuses that count as healthy
 * @param host the host name sent as HTTP {@code Host} and as TLS SNI, or null to send the backend's
 *     IP address as Host and no SNI
 * @param jitterPercent how far each interval varies at random, 0-50 percent either way
 * @param initialState {@link HealthState#UNKNOWN} (no new flows until the first passing probe) or
 *     {@link HealthState#HEALTHY} (new flows until probes fail)
 */
public record HealthProbe(
    String name,
    ProbeProtocol protocol,
    int port,
    String path,
    Duration interval,
    Duration timeout,
    int healthyThreshold,
    int unhealthyThreshold,
    List<StatusRange> expectedStatuses,
    String host,
    int jitterPercent,
    HealthState initialState) {

  /** The default interval, 5 s, Azure Load Balancer's. */
  public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(5);

  /** The default timeout, 5 s: Azure's TCP probe times out after one interval. */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(5);

  /** The default healthy threshold, 2, HAProxy's {@code rise}. */
  public static final int DEFAULT_HEALTHY_THRESHOLD = 2;

  /** The default unhealthy threshold, 3, HAProxy's {@code fall}. */
  public static final int DEFAULT_UNHEALTHY_THRESHOLD = 3;

  /** The largest threshold accepted. */
  public static final int MAX_THRESHOLD = 100;

  /** The default jitter, 10% of the interval either way (Armeria uses 20%, Envoy 0). */
  public static final int DEFAULT_JITTER_PERCENT = 10;

  /** The largest jitter, 50%: a next probe never comes sooner than half an interval. */
  public static final int MAX_JITTER_PERCENT = 50;

  private static final java.util.regex.Pattern HOST =
      java.util.regex.Pattern.compile("[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?");

  /**
   * Validates the probe and copies the status list.
   *
   * @param name the probe's name, unique in a configuration
   * @param protocol TCP, HTTP or HTTPS
   * @param port the probed port, or 0 for the backend's data port
   * @param path the HTTP(S) request path, starting with '/'
   * @param interval time between the starts of two probes of one backend
   * @param timeout how long one probe may take, at most the interval
   * @param healthyThreshold successes in a row that make a backend healthy, 1-100
   * @param unhealthyThreshold failures in a row that make a backend unhealthy, 1-100
   * @param expectedStatuses the HTTP statuses that count as healthy
   * @param host the host name sent as HTTP {@code Host} and as TLS SNI, or null to send the
   *     backend's IP address as Host and no SNI
   * @param jitterPercent how far each interval varies at random, 0-50 percent either way
   * @param initialState {@link HealthState#UNKNOWN} (no new flows until the first passing probe) or
   *     {@link HealthState#HEALTHY} (new flows until probes fail)
   */
  public HealthProbe {
    Checks.name("name", name);
    Checks.notNull(protocol, "protocol");
    Checks.range("port", port, 0, 65535);
    Checks.notNull(path, "path");
    if (!path.startsWith("/") || path.chars().anyMatch(c -> c <= ' ' || c == 0x7f)) {
      throw new IllegalArgumentException(
          "path: '" + path + "' (expected: starts with '/', no spaces or control characters)");
    }
    Checks.positive("interval", interval);
    Checks.positive("timeout", timeout);
    if (timeout.compareTo(interval) > 0) {
      throw new IllegalArgumentException(
          "timeout: "
              + Durations.format(timeout)
              + " (expected: <= interval "
              + Durations.format(interval)
              + ")");
    }
    Checks.range("healthyThreshold", healthyThreshold, 1, MAX_THRESHOLD);
    Checks.range("unhealthyThreshold", unhealthyThreshold, 1, MAX_THRESHOLD);
    Checks.notNull(expectedStatuses, "expectedStatuses");
    expectedStatuses = List.copyOf(expectedStatuses);
    if (expectedStatuses.isEmpty()) {
      throw new IllegalArgumentException("expectedStatuses: [] (expected: at least one status)");
    }
    if (host != null && !HOST.matcher(host).matches()) {
      throw new IllegalArgumentException(
          "host: '" + host + "' (expected: a DNS host name such as web.example.com)");
    }
    Checks.range("jitterPercent", jitterPercent, 0, MAX_JITTER_PERCENT);
    Checks.notNull(initialState, "initialState");
    if (initialState == HealthState.UNHEALTHY) {
      throw new IllegalArgumentException("initialState: UNHEALTHY (expected: UNKNOWN or HEALTHY)");
    }
  }

  /**
   * Returns a builder for a probe named {@code name}, with the defaults above.
   *
   * @param name the probe's name: 1-64 characters of {@code [A-Za-z0-9._:-]}, starting with a
   *     letter or digit
   * @return a builder with the defaults
   */
  public static Builder builder(String name) {
    return new Builder(name);
  }

  /**
   * Returns a TCP probe named {@code name} of the backends' data port, with the defaults.
   *
   * @param name the probe's name: 1-64 characters of {@code [A-Za-z0-9._:-]}, starting with a
   *     letter or digit
   * @return a TCP connect probe every 5 s with a 5 s timeout, 2 passes to healthy and 3 failures to
   *     unhealthy
   */
  public static HealthProbe tcp(String name) {
    return builder(name).build();
  }

  /**
   * Returns whether {@code status} counts as healthy.
   *
   * @param status an HTTP status code
   * @return true if one of the expected status ranges contains {@code status}
   */
  public boolean isExpected(int status) {
    for (StatusRange r : expectedStatuses) {
      if (r.contains(status)) {
        return true;
      }
    }
    return false;
  }

  /** {@return a builder initialised from this probe} */
  public Builder toBuilder() {
    return new Builder(name)
        .protocol(protocol)
        .port(port)
        .path(path)
        .interval(interval)
        .timeout(timeout)
        .healthyThreshold(healthyThreshold)
        .unhealthyThreshold(unhealthyThreshold)
        .expectedStatuses(expectedStatuses)
        .host(host)
        .jitterPercent(jitterPercent)
        .initialState(initialState);
  }

  /**
   * Builds a {@link HealthProbe}; each setter validates its argument at once, {@link #build()}
   * checks the timeout against the interval.
   *
   * <p>Not thread-safe.
   */
  public static final class Builder {
    private final String name;
    private ProbeProtocol protocol = ProbeProtocol.TCP;
    private int port;
    private String path = "/";
    private Duration interval = DEFAULT_INTERVAL;
    private Duration timeout = DEFAULT_TIMEOUT;
    private int healthyThreshold = DEFAULT_HEALTHY_THRESHOLD;
    private int unhealthyThreshold = DEFAULT_UNHEALTHY_THRESHOLD;
    private List<StatusRange> expectedStatuses = List.of(StatusRange.of(200));
    private String host;
    private int jitterPercent = DEFAULT_JITTER_PERCENT;
    private HealthState initialState = HealthState.UNKNOWN;

    private Builder(String name) {
      this.name = Checks.name("name", name);
    }

    /**
     * Sets the protocol; TCP by default.
     *
     * @param protocol TCP (connect), HTTP or HTTPS (a GET whose status is checked)
     * @return this builder
     */
    public Builder protocol(ProbeProtocol protocol) {
      this.protocol = Checks.notNull(protocol, "protocol");
      return this;
    }

    /**
     * Sets the probed port, or 0 (the default) for each backend's data port.
     *
     * @param port the probed port, 0-65535; 0 probes each backend's data port
     * @return this builder
     */
    public Builder port(int port) {
      this.port = Checks.range("port", port, 0, 65535);
      return this;
    }

    /**
     * Sets the HTTP(S) path; {@code /} by default.
     *
     * @param path the request path: starts with {@code /}, no spaces or control characters (checked
     *     by {@link #build()})
     * @return this builder
     */
    public Builder path(String path) {
      this.path = Checks.notNull(path, "path");
      return this;
    }

    /**
     * Sets the interval; 5 s by default.
     *
     * @param interval the time between the starts of two probes of one backend; above 0
     * @return this builder
     */
    public Builder interval(Duration interval) {
      this.interval = Checks.positive("interval", interval);
      return this;
    }

    /**
     * Sets the timeout; 5 s by default.
     *
     * @param timeout how long one probe may take; above 0 and at most the interval
     * @return this builder
     */
    public Builder timeout(Duration timeout) {
      this.timeout = Checks.positive("timeout", timeout);
      return this;
    }

    /**
     * Sets the successes in a row that make a backend healthy; 2 by default.
     *
     * @param threshold successes in a row, 1-100
     * @return this builder
     */
    public Builder healthyThreshold(int threshold) {
      this.healthyThreshold = Checks.range("healthyThreshold", threshold, 1, MAX_THRESHOLD);
      return this;
    }

    /**
     * Sets the failures in a row that make a backend unhealthy; 3 by default.
     *
     * @param threshold failures in a row, 1-100
     * @return this builder
     */
    public Builder unhealthyThreshold(int threshold) {
      this.unhealthyThreshold = Checks.range("unhealthyThreshold", threshold, 1, MAX_THRESHOLD);
      return this;
    }

    /**
     * Sets the expected statuses from a list such as {@code "200,300-399"}; 200 by default.
     *
     * @param spec comma-separated statuses and ranges of statuses, 100-599
     * @return this builder
     */
    public Builder expectedStatuses(String spec) {
      this.expectedStatuses = StatusRange.parseList(spec);
      return this;
    }

    /**
     * Sets the expected statuses.
     *
     * @param statuses the status ranges, at least one; copied
     * @return this builder
     */
    public Builder expectedStatuses(List<StatusRange> statuses) {
      this.expectedStatuses = List.copyOf(Checks.notNull(statuses, "expectedStatuses"));
      return this;
    }

    /**
     * Sets the host name for HTTP {@code Host} and TLS SNI, or null (the default) for none.
     *
     * @param host a DNS host name such as {@code web.example.com}, or null
     * @return this builder
     */
    public Builder host(String host) {
      this.host = host;
      return this;
    }

    /**
     * Sets the jitter in percent of the interval, 0-50; 10 by default.
     *
     * @param percent how far each interval varies at random, 0-50 percent either way
     * @return this builder
     */
    public Builder jitterPercent(int percent) {
      this.jitterPercent = Checks.range("jitterPercent", percent, 0, MAX_JITTER_PERCENT);
      return this;
    }

    /**
     * Sets the state of a backend before its first probe: {@link HealthState#UNKNOWN}, the default,
     * gives it no new flows until a probe passes; {@link HealthState#HEALTHY} gives it flows until
     * probes fail.
     *
     * @param state {@link HealthState#UNKNOWN} or {@link HealthState#HEALTHY}
     * @return this builder
     */
    public Builder initialState(HealthState state) {
      this.initialState = Checks.notNull(state, "initialState");
      return this;
    }

    /**
     * Returns the probe.
     *
     * @return the probe
     * @throws IllegalArgumentException if the timeout exceeds the interval, or the path is invalid
     */
    public HealthProbe build() {
      return new HealthProbe(
          name,
          protocol,
          port,
          path,
          interval,
          timeout,
          healthyThreshold,
          unhealthyThreshold,
          expectedStatuses,
          host,
          jitterPercent,
          initialState);
    }
  }
}
