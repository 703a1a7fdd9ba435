/** Seeded 64-bit hashing of flows per distribution mode, and the hash primitives under it. */
package io.lb4j.core.hash;
