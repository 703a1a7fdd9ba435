/**
 * Internal to lb4j: {@code explain} and {@code diagnose} over an immutable view of the balancer.
 * The control plane hands out a {@link io.lb4j.core.diagnose.BalancerView}; {@link
 * io.lb4j.core.diagnose.Explainer} and {@link io.lb4j.core.diagnose.Diagnostician} read only that,
 * each troubleshooting check a small class of its own. Public only so that the core package can
 * reach it; not exported by the {@code io.lb4j.core} module and not API.
 */
package io.lb4j.core.diagnose;
