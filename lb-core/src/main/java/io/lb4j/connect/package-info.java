/**
 * Connecting a service's own outgoing connections through a balancer: {@link
 * io.lb4j.connect.BalancedConnector} leases a backend (by key, by the rule's scheduler or by the
 * real 5-tuple), connects with the rule's connect timeout, retries another backend on a refusal or
 * timeout reporting to passive health, and returns a {@link io.lb4j.connect.LeasedSocket} or {@link
 * io.lb4j.connect.LeasedChannel} whose close ends the lease. See {@code docs/embedding.md}.
 */
package io.lb4j.connect;
