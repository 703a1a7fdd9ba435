/**
 * Selection algorithms: Maglev, ring hash, rendezvous and jump consistent hashing, bounded load,
 * and the LVS schedulers, built through {@link io.lb4j.core.select.Selectors}.
 */
package io.lb4j.core.select;
