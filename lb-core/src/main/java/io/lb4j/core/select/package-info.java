/**
 * Selection algorithms: Maglev, ring hash, rendezvous and jump consistent hashing, bounded load,
 * and the LVS schedulers, built through {@link io.lb4j.core.select.Selectors}.
 *
 * <p>Internal to lb4j: public only so that {@code io.lb4j.core} can reach it, not exported by the
 * {@code io.lb4j.core} module, and free to change without notice.
 */
package io.lb4j.core.select;
