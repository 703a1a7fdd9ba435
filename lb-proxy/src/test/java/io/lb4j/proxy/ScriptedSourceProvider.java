package io.lb4j.proxy;

import io.lb4j.IpLiteral;
import io.lb4j.discovery.Member;
import io.lb4j.discovery.MembershipSource;
import io.lb4j.discovery.MembershipSourceProvider;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;

/**
 * The test's membership source provider, type {@code test}, registered in lb-proxy's test resources
 * ({@code META-INF/services/io.lb4j.discovery.MembershipSourceProvider}): its sources answer what
 * the test scripts. Settings: {@code name} (required; the key under which the test finds the
 * sources made, and, as in DNS, a host name, which is legal here), {@code members} (a list of
 * {@code IP:PORT}: the answer given at start), {@code generation} (any value; changing it changes
 * the settings). Every source made is recorded, also those the configuration loader makes only to
 * check the settings (never started).
 *
 * <p>Thread-safe.
 */
public final class ScriptedSourceProvider implements MembershipSourceProvider {
  private static final Set<String> KEYS = Set.of("name", "members", "generation", "refuse");

  /** Every source made, by {@code name}, in order. */
  static final Map<String, List<ScriptedSource>> MADE = new ConcurrentHashMap<>();

  /** Returns the sources of {@code name} that were started, in order. */
  static List<ScriptedSource> started(String name) {
    List<ScriptedSource> out = new ArrayList<>();
    for (ScriptedSource s : MADE.getOrDefault(name, List.of())) {
      if (s.listener != null) {
        out.add(s);
      }
    }
    return out;
  }

  @Override
  public String type() {
    return "test";
  }

  @Override
  public MembershipSource create(String pool, Map<String, Object> settings) {
    if (settings.get("refuse") instanceof String message) {
      throw new IllegalArgumentException(message); // as a provider words its refusal
    }
    for (String key : settings.keySet()) {
      if (!KEYS.contains(key)) {
        throw new IllegalArgumentException(
            key + ": unknown key (expected one of: [name, members, generation, refuse])");
      }
    }
    if (!(settings.get("name") instanceof String name)) {
      throw new IllegalArgumentException(
          "name: "
              + (settings.get("name") == null ? "missing" : settings.get("name"))
              + " (expected: a name such as web.test)");
    }
    List<Member> members = new ArrayList<>();
    if (settings.get("members") instanceof List<?> list) {
      for (int i = 0; i < list.size(); i++) {
        members.add(member("members[" + i + "]", String.valueOf(list.get(i))));
      }
    } else if (settings.containsKey("members")) {
      throw new IllegalArgumentException(
          "members: " + settings.get("members") + " (expected: a list of IP:PORT)");
    }
    ScriptedSource s = new ScriptedSource(pool, name, settings.get("generation"), members);
    MADE.computeIfAbsent(name, n -> new CopyOnWriteArrayList<>()).add(s);
    return s;
  }

  /** Reads {@code 127.0.0.5:8080} as a member whose id is derived from it. */
  static Member member(String field, String text) {
    int colon = text.lastIndexOf(':');
    try {
      InetAddress address = IpLiteral.parse(text.substring(0, Math.max(0, colon)));
      return Member.of(address, Integer.parseInt(text.substring(colon + 1)));
    } catch (RuntimeException e) {
      throw new IllegalArgumentException(
          field + ": '" + text + "' (expected: an IP literal and port such as 127.0.0.5:8080)");
    }
  }

  /** A source that answers on its own thread what the test tells it to. */
  static final class ScriptedSource implements MembershipSource {
    final String pool;
    final String name;
    final Object generation;
    private final List<Member> initial;
    private final ExecutorService thread =
        Executors.newSingleThreadExecutor(
            r -> {
              Thread t = new Thread(r, "scripted-source");
              t.setDaemon(true);
              return t;
            });
    volatile Listener listener;
    volatile boolean closed;

    ScriptedSource(String pool, String name, Object generation, List<Member> initial) {
      this.pool = pool;
      this.name = name;
      this.generation = generation;
      this.initial = List.copyOf(initial);
    }

    @Override
    public String describe() {
      return "test '" + name + "'" + (generation == null ? "" : " generation " + generation);
    }

    @Override
    public void start(Listener listener) {
      if (this.listener != null) {
        throw new IllegalStateException("started twice");
      }
      this.listener = listener;
      if (!initial.isEmpty()) {
        answer(initial);
      }
    }

    /** Delivers {@code members} as the source's complete answer, on its thread. */
    void answer(List<Member> members) {
      List<Member> copy = List.copyOf(members);
      run(() -> listener.onMembers(copy));
    }

    /** Reports a failure, on its thread. */
    void fail(String reason) {
      run(() -> listener.onFailure(reason));
    }

    private void run(Runnable r) {
      try {
        thread.execute(
            () -> {
              if (!closed) {
                r.run();
              }
            });
      } catch (RejectedExecutionException e) {
        throw new IllegalStateException("source " + describe() + " is closed", e);
      }
    }

    @Override
    public void close() {
      closed = true;
      thread.shutdown();
    }
  }
}
