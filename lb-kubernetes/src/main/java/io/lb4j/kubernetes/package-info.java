/**
 * Membership from Kubernetes: {@link io.lb4j.kubernetes.KubernetesMembershipSource} gives a pool
 * the endpoints of a Service from its {@code discovery.k8s.io/v1} EndpointSlices, watched through
 * the fabric8 client; {@link io.lb4j.kubernetes.KubernetesMembershipSourceProvider} makes it from a
 * pool's {@code discovery: {type: kubernetes}} block. See {@code docs/discovery-kubernetes.md}.
 */
package io.lb4j.kubernetes;
