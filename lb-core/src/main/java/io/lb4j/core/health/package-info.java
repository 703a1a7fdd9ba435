/**
 * Health probing: the scheduler-driven {@link io.lb4j.core.health.HealthProber}, its threshold
 * state machine, and {@link io.lb4j.core.health.NioHealthChecker}, the non-blocking TCP, HTTP and
 * HTTPS checker.
 *
 * <p>Internal to lb4j: public only so that {@code io.lb4j.core} can reach it, not exported by the
 * {@code io.lb4j.core} module, and free to change without notice.
 */
package io.lb4j.core.health;
