/**
 * The public model of lb4j, in the vocabulary of the cloud L4 balancers: {@link Frontend}, {@link
 * Backend}, {@link BackendPool}, {@link HealthProbe}, {@link LoadBalancingRule}, {@link
 * InboundNatRule}, the flow 5-tuple {@link FlowKey} and the {@link LoadBalancer} that answers
 * {@link Selection}s.
 *
 * <p>Every value is an immutable record validated at construction; an invalid value is refused with
 * an {@link IllegalArgumentException} whose message names the field, the value and what was
 * expected, for example {@code "weight: 70000 (expected: 0-65535)"}. No method accepts or returns
 * null unless its javadoc says so.
 */
package io.lb4j;
