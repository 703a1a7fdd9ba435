/**
 * Health probing: the scheduler-driven {@link io.lb4j.core.health.HealthProber}, its threshold
 * state machine, and {@link io.lb4j.core.health.NioHealthChecker}, the non-blocking TCP, HTTP and
 * HTTPS checker.
 */
package io.lb4j.core.health;
