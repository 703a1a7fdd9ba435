package io.lb4j.proxy;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * The {@code logging:} block of a standalone proxy's file: the root level, levels per logger and
 * the connection log. Levels are applied at start and again at each reload, on top of the Logback
 * configuration in force ({@code logback.xml} in the jar, or the file named by {@code
 * -Dlogback.configurationFile}); {@code --log-level} on the command line wins over both.
 *
 * <pre>
 * logging:
 *   level: INFO                # the root logger
 *   levels:
 *     io.lb4j.core: DEBUG
 *     io.lb4j.access: INFO     # the connection log
 *   accessLog: true            # one line per ended connection, every rule
 * </pre>
 *
 * <p>Instances are immutable and thread-safe.
 *
 * @param level the root logger's level, or null to leave it as Logback's configuration has it
 * @param levels levels by logger name ({@code ROOT} is the root logger), in the file's order
 * @param accessLog whether every rule logs its ended connections on {@code io.lb4j.access}
 */
public record LoggingOptions(Level level, Map<String, Level> levels, boolean accessLog) {

  /** No level set, no connection log: what a file without {@code logging:} gets. */
  public static final LoggingOptions DEFAULT = new LoggingOptions(null, Map.of(), false);

  /** A logger name: dot-separated words of letters, digits, {@code _}, {@code $} and {@code -}. */
  private static final Pattern LOGGER = Pattern.compile("[A-Za-z0-9_$-]+(\\.[A-Za-z0-9_$-]+)*");

  /** Checks the logger names and copies the levels, keeping their order. */
  public LoggingOptions {
    Objects.requireNonNull(levels, "levels");
    Map<String, Level> copy = new LinkedHashMap<>();
    for (Map.Entry<String, Level> e : levels.entrySet()) {
      copy.put(checkLogger(e.getKey()), Objects.requireNonNull(e.getValue(), "level"));
    }
    levels = java.util.Collections.unmodifiableMap(copy);
  }

  /**
   * Returns {@code name} when it is a logger name.
   *
   * @throws IllegalArgumentException naming the value and what was expected
   */
  static String checkLogger(String name) {
    if (name == null || !LOGGER.matcher(name).matches()) {
      throw new IllegalArgumentException(
          "logger: '"
              + name
              + "' (expected: a logger name such as io.lb4j.access or io.lb4j.core, or ROOT)");
    }
    return name;
  }

  /**
   * A log level, as Logback has them.
   *
   * <p>Immutable and thread-safe.
   */
  public enum Level {
    /** Everything. */
    TRACE,
    /** Detail for diagnosis: each connect failure, each refusal. */
    DEBUG,
    /** Lifecycle (start, reload, stop) and the connection log. */
    INFO,
    /** Something an operator should look at. */
    WARN,
    /** Something failed. */
    ERROR,
    /** Nothing. */
    OFF;

    /**
     * Returns the level named {@code text}, in any case.
     *
     * @throws IllegalArgumentException naming {@code field}, the value and the levels
     */
    public static Level parse(String field, String text) {
      String s = text == null ? "" : text.trim().toUpperCase(Locale.ROOT);
      for (Level l : values()) {
        if (l.name().equals(s)) {
          return l;
        }
      }
      throw new IllegalArgumentException(
          field + ": '" + text + "' (expected one of: " + Arrays.toString(values()) + ")");
    }
  }
}
