package io.lb4j.netty;

import io.lb4j.Finding;
import java.util.List;

/**
 * One check of the proxy's own state (what the balancer cannot see: refused clients, local ports),
 * run by {@link NettyL4Proxy#diagnose()} after the balancer's checks. A new check is a small final
 * class and one entry in {@code NettyL4Proxy.CHECKS}.
 *
 * <p>Implementations are stateless and thread-safe.
 */
interface ProxyCheck {
  /**
   * Adds this check's findings about {@code view} to {@code out}; returns how many checks it ran
   * (one per rule, or per backend, as the balancer counts them).
   */
  int run(ProxyView view, List<Finding> out);
}
