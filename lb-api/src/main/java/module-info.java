/**
 * The public model of lb4j: frontends, backends, pools, probes, rules, flows and the {@link
 * io.lb4j.LoadBalancer} interface. It has no runtime dependencies.
 */
module io.lb4j.api {
  exports io.lb4j;
  exports io.lb4j.spi;
  exports io.lb4j.discovery;
}
