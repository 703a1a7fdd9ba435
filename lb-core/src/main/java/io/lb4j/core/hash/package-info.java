/**
 * Seeded 64-bit hashing of flows per distribution mode, and the hash primitives under it.
 *
 * <p>Internal to lb4j: public only so that {@code io.lb4j.core} can reach it, not exported by the
 * {@code io.lb4j.core} module, and free to change without notice.
 */
package io.lb4j.core.hash;
