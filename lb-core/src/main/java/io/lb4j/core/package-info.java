/**
 * lb4j's core: {@link io.lb4j.core.L4LoadBalancer}, the {@link io.lb4j.LoadBalancer} built from
 * flow hashing, selectors and the flow table. The one package of the module that is API; the
 * packages beneath it are internal (see {@code docs/architecture.md}).
 */
package io.lb4j.core;
