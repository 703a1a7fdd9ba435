package io.lb4j;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A named set of backends that rules spread flows over. Membership changes at run time through
 * {@link LoadBalancer}; this value is one state of it.
 *
 * <p>{@link #toString()} reads {@code web[web-1(127.0.0.2, weight=1, ENABLED), ...]}.
 *
 * <p>Instances are immutable and thread-safe.
 *
 * @param name the pool's name, unique in a configuration
 * @param backends its backends, with distinct ids, in the order given
 */
public record BackendPool(String name, List<Backend> backends) {

  /**
   * Validates the pool and copies the list.
   *
   * @param name the pool's name, unique in a configuration
   * @param backends its backends, with distinct ids, in the order given
   */
  public BackendPool {
    Checks.name("name", name);
    Checks.notNull(backends, "backends");
    backends = List.copyOf(backends);
    Set<String> ids = new HashSet<>();
    for (int i = 0; i < backends.size(); i++) {
      if (!ids.add(backends.get(i).id())) {
        throw new IllegalArgumentException(
            "backends["
                + i
                + "].id: '"
                + backends.get(i).id()
                + "' (expected: unique in pool '"
                + name
                + "')");
      }
    }
  }

  /**
   * Returns a pool named {@code name} with {@code backends}.
   *
   * @param name the pool's name: 1-64 characters of {@code [A-Za-z0-9._:-]}, starting with a letter
   *     or digit
   * @param backends the members, in any order; ids must be unique
   * @return the pool
   * @throws IllegalArgumentException if the name is invalid or two backends share an id
   */
  public static BackendPool of(String name, Backend... backends) {
    return new BackendPool(name, List.of(backends));
  }

  /**
   * Returns the backend with id {@code id}, or null when the pool has none.
   *
   * @param id a backend's id
   * @return the backend, or null
   */
  public Backend backend(String id) {
    for (Backend b : backends) {
      if (b.id().equals(id)) {
        return b;
      }
    }
    return null;
  }

  /**
   * Returns this pool with {@code backend} added, or replacing the backend with the same id.
   *
   * @param backend the backend to add or replace
   * @return a new pool; a replaced backend keeps its place, an added one goes last
   */
  public BackendPool withBackend(Backend backend) {
    Checks.notNull(backend, "backend");
    List<Backend> next = new ArrayList<>(backends.size() + 1);
    boolean replaced = false;
    for (Backend b : backends) {
      if (b.id().equals(backend.id())) {
        next.add(backend);
        replaced = true;
      } else {
        next.add(b);
      }
    }
    if (!replaced) {
      next.add(backend);
    }
    return new BackendPool(name, next);
  }

  /**
   * Returns this pool without the backend with id {@code id}; the same pool if it has none.
   *
   * @param id a backend's id
   * @return a new pool without the backend, or this pool if it has none
   */
  public BackendPool withoutBackend(String id) {
    List<Backend> next = new ArrayList<>(backends.size());
    for (Backend b : backends) {
      if (!b.id().equals(id)) {
        next.add(b);
      }
    }
    return next.size() == backends.size() ? this : new BackendPool(name, next);
  }

  /** {@return the ids of the backends, in order} */
  public List<String> backendIds() {
    List<String> ids = new ArrayList<>(backends.size());
    for (Backend b : backends) {
      ids.add(b.id());
    }
    return ids;
  }

  @Override
  public String toString() {
    return name + backends;
  }
}
