package io.lb4j.netty;

import io.lb4j.Diagnosis;
import io.lb4j.Finding;
import io.lb4j.LoadBalancerConfig;
import java.util.Map;

/**
 * What a {@link ProxyCheck} reads: the configuration in force, the routes of its rules (options and
 * counters), the balancer's own diagnosis (to fold a proxy finding into a more specific one) and
 * the ticker's reading.
 *
 * <p>Immutable (the routes' counters move on) and thread-safe.
 *
 * @param config the balancer's configuration
 * @param routes by rule name
 * @param balancer what the balancer's checks found
 * @param nowNanos the proxy ticker's reading when the diagnosis began
 */
record ProxyView(
    LoadBalancerConfig config, Map<String, Route> routes, Diagnosis balancer, long nowNanos) {

  /**
   * Returns whether the balancer found a problem of {@code severity} or worse with {@code rule}.
   */
  boolean balancerFound(String rule, Finding.Severity severity) {
    for (Finding f : balancer.atLeast(severity)) {
      if (rule.equals(f.rule())) {
        return true;
      }
    }
    return false;
  }
}
