/**
 * lb4j's core: {@link io.lb4j.core.L4LoadBalancer}, the {@link io.lb4j.LoadBalancer} built from
 * flow hashing, selectors and the flow table.
 */
package io.lb4j.core;
