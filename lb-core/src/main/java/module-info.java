/**
 * lb4j's core: {@link io.lb4j.core.L4LoadBalancer} and its builder, and the client connector {@link
 * io.lb4j.connect.BalancedConnector}, are the API. The packages beneath — {@code select}, {@code
 * hash}, {@code flow}, {@code health}, {@code diagnose} — are internal: public only so that the
 * core package can reach them, not exported, and free to change.
 */
module io.lb4j.core {
  requires transitive io.lb4j.api;
  requires org.slf4j;

  exports io.lb4j.core;
  exports io.lb4j.connect;
}
