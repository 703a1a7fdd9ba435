package io.lb4j;

import java.time.Duration;

/**
 * Frontend port to one specific backend and port: how a client reaches server 2's SSH or RDP
 * through the balancer.
 *
 * <pre>{@code
 * InboundNatRule ssh2 = InboundNatRule.builder("ssh-web-2")
 *     .frontend("web").frontendPort(50002)
 *     .backendPool("web").backend("web-2").backendPort(22)
 *     .build();
 * }</pre>
 *
 * <p>Defaults: TCP; idle timeout 4 minutes; no TCP reset on idle. A NAT rule has no probe: its
 * backend receives the flows while its admin state is not {@link AdminState#DISABLED}.
 *
 * <p>Instances are immutable and thread-safe.
 *
 * @param name the rule's name, unique in a configuration
 * @param frontend the name of the frontend it listens on
 * @param protocol TCP or UDP
 * @param frontendPort the port it listens on, 1-65535
 * @param backendPool the name of the pool holding the backend
 * @param backend the id of the backend in that pool
 * @param backendPort the backend's port, 1-65535
 * @param idleTimeout how long a flow may be idle before it is forgotten
 * @param tcpReset whether a flow that idles out is reset rather than dropped silently
 */
public record InboundNatRule(
    String name,
    String frontend,
    Protocol protocol,
    int frontendPort,
    String backendPool,
    String backend,
    int backendPort,
    Duration idleTimeout,
    boolean tcpReset)
    implements Rule {

  /**
   * Validates the rule.
   *
   * @param name the rule's name, unique in a configuration
   * @param frontend the name of the frontend it listens on
   * @param protocol TCP or UDP
   * @param frontendPort the port it listens on, 1-65535
   * @param backendPool the name of the pool holding the backend
   * @param backend the id of the backend in that pool
   * @param backendPort the backend's port, 1-65535
   * @param idleTimeout how long a flow may be idle before it is forgotten
   * @param tcpReset whether a flow that idles out is reset rather than dropped silently
   */
  public InboundNatRule {
    Checks.name("name", name);
    Checks.name("frontend", frontend);
    Checks.notNull(protocol, "protocol");
    Checks.port("frontendPort", frontendPort);
    Checks.name("backendPool", backendPool);
    Checks.name("backend", backend);
    Checks.port("backendPort", backendPort);
    LoadBalancingRule.checkIdleTimeout(idleTimeout);
  }

  /**
   * Returns a builder for a NAT rule named {@code name}.
   *
   * @param name the rule's name: 1-64 characters of {@code [A-Za-z0-9._:-]}, starting with a letter
   *     or digit
   * @return a builder with the defaults; the frontend, frontend port, pool and backend must be set
   */
  public static Builder builder(String name) {
    return new Builder(name);
  }

  /**
   * Builds an {@link InboundNatRule}; each setter validates its argument at once, {@link #build()}
   * checks that the required ones were set.
   *
   * <p>Not thread-safe.
   */
  public static final class Builder {
    private final String name;
    private String frontend;
    private Protocol protocol = Protocol.TCP;
    private int frontendPort;
    private String backendPool;
    private String backend;
    private int backendPort;
    private Duration idleTimeout = LoadBalancingRule.DEFAULT_IDLE_TIMEOUT;
    private boolean tcpReset;

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
     * Sets the name of the pool holding the backend; required.
     *
     * @param pool the name of a pool of the configuration
     * @return this builder
     */
    public Builder backendPool(String pool) {
      this.backendPool = Checks.name("backendPool", pool);
      return this;
    }

    /**
     * Sets the id of the backend; required.
     *
     * @param backendId the id of a backend of that pool
     * @return this builder
     */
    public Builder backend(String backendId) {
      this.backend = Checks.name("backend", backendId);
      return this;
    }

    /**
     * Sets the backend port; the frontend port by default.
     *
     * @param port the backend's port, 1-65535
     * @return this builder
     */
    public Builder backendPort(int port) {
      this.backendPort = Checks.port("backendPort", port);
      return this;
    }

    /**
     * Sets the idle timeout, up to 7 days; 4 minutes by default.
     *
     * @param idleTimeout how long a flow may be idle before it is forgotten: above 0, up to 7 days
     * @return this builder
     */
    public Builder idleTimeout(Duration idleTimeout) {
      this.idleTimeout = LoadBalancingRule.checkIdleTimeout(idleTimeout);
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
     * Returns the rule.
     *
     * @return the rule; the backend port is the frontend port unless set
     * @throws IllegalArgumentException if a required setting was not set
     */
    public InboundNatRule build() {
      for (String[] required :
          new String[][] {
            {"frontend", frontend}, {"backendPool", backendPool}, {"backend", backend}
          }) {
        if (required[1] == null) {
          throw new IllegalArgumentException(
              required[0] + ": not set (expected: a name) in NAT rule '" + name + "'");
        }
      }
      if (frontendPort == 0) {
        throw new IllegalArgumentException(
            "frontendPort: not set (expected: 1-65535) in NAT rule '" + name + "'");
      }
      return new InboundNatRule(
          name,
          frontend,
          protocol,
          frontendPort,
          backendPool,
          backend,
          backendPort == 0 ? frontendPort : backendPort,
          idleTimeout,
          tcpReset);
    }
  }
}
