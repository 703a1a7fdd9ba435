package io.lb4j.grpc;

import io.grpc.NameResolver;
import io.grpc.NameResolverProvider;
import io.lb4j.LoadBalancer;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.URI;
import java.util.Collection;
import java.util.List;

/**
 * gRPC's name resolver for scheme {@value Lb4jGrpc#SCHEME}: target {@code lb4j:///<rule>} or {@code
 * lb4j://<name>/<rule>} resolves to the members of the rule's backend pool, one address group per
 * backend, and follows them as the balancer's membership changes (no channel restart for a new
 * member).
 *
 * <p>The instance gRPC loads through {@link java.util.ServiceLoader} finds balancers in {@link
 * Lb4jGrpc#register(String, LoadBalancer) the registry}: {@code lb4j://orders/get} in the one
 * registered as {@code orders}, {@code lb4j:///get} in the one registered as {@value
 * Lb4jGrpc#DEFAULT_NAME}. One from {@link Lb4jGrpc#nameResolverProvider(LoadBalancer)} resolves
 * {@code lb4j:///<rule>} in its own balancer.
 *
 * <p>Its priority, 4, is below DNS's 5, so that {@code lb4j} never becomes the default scheme of a
 * registry it is in (targets without a scheme stay DNS names).
 *
 * <p>Thread-safe.
 */
public final class Lb4jNameResolverProvider extends NameResolverProvider {

  /** Below {@code DnsNameResolverProvider}'s 5: never the registry's default scheme. */
  private static final int PRIORITY = 4;

  private final LoadBalancer bound;

  /** Creates the provider that resolves in the registry; for {@link java.util.ServiceLoader}. */
  public Lb4jNameResolverProvider() {
    this(null);
  }

  Lb4jNameResolverProvider(LoadBalancer bound) {
    this.bound = bound;
  }

  /**
   * Returns a resolver of {@code targetUri}, or null when its scheme is not {@value
   * Lb4jGrpc#SCHEME}.
   *
   * @throws IllegalArgumentException if the target is not {@code lb4j:///<rule>} or {@code
   *     lb4j://<name>/<rule>}
   */
  @Override
  public NameResolver newNameResolver(URI targetUri, NameResolver.Args args) {
    if (!Lb4jGrpc.SCHEME.equalsIgnoreCase(targetUri.getScheme())) {
      return null;
    }
    return new Lb4jNameResolver(
        Lb4jTarget.parse(targetUri), bound, args.getSynchronizationContext());
  }

  @Override
  public String getDefaultScheme() {
    return Lb4jGrpc.SCHEME;
  }

  @Override
  protected boolean isAvailable() {
    return true;
  }

  @Override
  protected int priority() {
    return PRIORITY;
  }

  @Override
  public Collection<Class<? extends SocketAddress>> getProducedSocketAddressTypes() {
    return List.of(InetSocketAddress.class);
  }

  @Override
  public String toString() {
    return bound == null
        ? "Lb4jNameResolverProvider(registry)"
        : "Lb4jNameResolverProvider(bound to "
            + bound.getClass().getSimpleName()
            + "@"
            + Integer.toHexString(System.identityHashCode(bound))
            + ")";
  }
}
