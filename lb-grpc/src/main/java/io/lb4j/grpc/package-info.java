/**
 * gRPC-java over an lb4j balancer: a name resolver (scheme {@code lb4j}) that follows a rule's pool
 * members, and a load-balancing policy ({@code lb4j}) that picks per RPC through the rule's
 * selector by a key from a header or {@code CallOptions}, or through its scheduler without one.
 * Start at {@link io.lb4j.grpc.Lb4jGrpc}.
 */
package io.lb4j.grpc;
