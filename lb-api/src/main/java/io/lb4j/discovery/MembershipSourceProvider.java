package io.lb4j.discovery;

import java.util.Map;

/**
 * Makes {@link MembershipSource}s of one type from settings, for configuration files: the
 * standalone proxy reads a pool's {@code discovery:} block — {@code type: dns}, {@code type: xds},
 * {@code type: kubernetes} — and asks the provider of that type, found with {@link
 * java.util.ServiceLoader}, for the source. Each discovery module registers its provider in {@code
 * META-INF/services/io.lb4j.discovery.MembershipSourceProvider}.
 *
 * <p>Implementations must be thread-safe and have a public no-argument constructor.
 */
public interface MembershipSourceProvider {

  /**
   * Returns the type this provider makes, as written in {@code discovery.type}: {@code dns}.
   *
   * @return the type name, as {@code discovery.type} spells it; unique among the providers on the
   *     class path
   */
  String type();

  /**
   * Returns a source for pool {@code pool} from {@code settings}: the {@code discovery:} block
   * without {@code type}, values as YAML gives them (strings, numbers, booleans, lists, maps).
   * Nothing is started: a configuration check ({@code --check}, a reload that is refused) calls
   * this only to validate the settings and then closes the source unstarted, so it must be cheap,
   * have no side effects, and return a source whose {@code close()} works before {@code start}.
   * Name a bad setting as {@code name: value (expected: ...)}.
   *
   * @param pool the name of the pool the source will feed, for messages
   * @param settings the settings, keyed by name
   * @return a source that is not started
   * @throws IllegalArgumentException naming the setting, the value and what was expected, for an
   *     unknown, missing or malformed setting
   */
  MembershipSource create(String pool, Map<String, Object> settings);
}
