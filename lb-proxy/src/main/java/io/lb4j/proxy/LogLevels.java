package io.lb4j.proxy;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sets Logback's levels from the file's {@code logging:} block and the {@code --log-level} flags,
 * the flags last so that they win. Each {@link #apply} first gives every logger it set before back
 * the level it had then (its own, or none to inherit), so a level removed from the file by a reload
 * goes back to what Logback's configuration says.
 *
 * <p>Levels need Logback, the binding in {@code lb4j-proxy.jar}. Under another SLF4J binding (an
 * application embedding {@link StandaloneProxy}) levels to set are reported once at WARN and left
 * to that binding's own configuration.
 *
 * <p>Thread-safe.
 */
final class LogLevels {
  private static final Logger logger = LoggerFactory.getLogger(LogLevels.class);

  /** The root logger's name in Logback and in {@code levels:}. */
  static final String ROOT = "ROOT";

  private final Map<String, LoggingOptions.Level> flags;

  /**
   * By logger: its Logback level before this class first set it, null when it inherited (a HashMap:
   * null values are kept).
   */
  private final Map<String, Object> originals = new HashMap<>();

  private boolean warned;

  /** Levels from the command line ({@link #parseFlags}), applied after the file's. */
  LogLevels(Map<String, LoggingOptions.Level> flags) {
    this.flags = Map.copyOf(flags);
  }

  /**
   * Parses {@code --log-level} values: {@code LEVEL} for the root logger, {@code LOGGER=LEVEL} for
   * one logger; a later value for the same logger wins.
   *
   * @throws IllegalArgumentException naming the flag, the value and what was expected
   */
  static Map<String, LoggingOptions.Level> parseFlags(List<String> values) {
    Map<String, LoggingOptions.Level> out = new LinkedHashMap<>();
    for (String v : values) {
      int eq = v.indexOf('=');
      try {
        if (eq < 0) {
          out.put(ROOT, LoggingOptions.Level.parse("--log-level", v));
        } else {
          String name = LoggingOptions.checkLogger(v.substring(0, eq).trim());
          out.put(name, LoggingOptions.Level.parse("--log-level", v.substring(eq + 1)));
        }
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            "--log-level: '"
                + v
                + "' (expected: LEVEL or LOGGER=LEVEL, such as INFO or io.lb4j.access=WARN;"
                + " levels: TRACE, DEBUG, INFO, WARN, ERROR, OFF)",
            e);
      }
    }
    return out;
  }

  /** Sets the levels of {@code file}, then the flags', after restoring what was set before. */
  synchronized void apply(LoggingOptions file) {
    Map<String, LoggingOptions.Level> wanted = new LinkedHashMap<>();
    if (file.level() != null) {
      wanted.put(ROOT, file.level());
    }
    wanted.putAll(file.levels());
    wanted.putAll(flags);
    if (!Logback.present()) {
      if (!wanted.isEmpty() && !warned) {
        warned = true;
        logger.warn(
            "log levels {} not set: they need Logback, and the SLF4J binding in use is {}",
            wanted,
            LoggerFactory.getILoggerFactory().getClass().getName());
      }
      return;
    }
    restoreLocked();
    for (Map.Entry<String, LoggingOptions.Level> e : wanted.entrySet()) {
      String name = e.getKey();
      if (!originals.containsKey(name)) {
        originals.put(name, Logback.level(name));
      }
      Logback.setLevel(name, Logback.of(e.getValue()));
    }
  }

  /** Gives every logger this class set the level it had before. */
  synchronized void restore() {
    if (Logback.present()) {
      restoreLocked();
    }
  }

  private void restoreLocked() {
    for (Map.Entry<String, Object> e : originals.entrySet()) {
      Logback.setLevel(e.getKey(), e.getValue());
    }
    originals.clear();
  }

  /** The Logback calls, in a class of their own: loaded only once Logback is known to be there. */
  private static final class Logback {
    private static final String CONTEXT = "ch.qos.logback.classic.LoggerContext";

    static boolean present() {
      return LoggerFactory.getILoggerFactory().getClass().getName().equals(CONTEXT);
    }

    /** Returns the logger's own level, or null when it inherits one. */
    static Object level(String name) {
      return logger(name).getLevel();
    }

    static Object of(LoggingOptions.Level level) {
      return ch.qos.logback.classic.Level.toLevel(level.name());
    }

    /** Sets {@code level} (a Logback level), or null to inherit. */
    static void setLevel(String name, Object level) {
      logger(name).setLevel((ch.qos.logback.classic.Level) level);
    }

    private static ch.qos.logback.classic.Logger logger(String name) {
      ch.qos.logback.classic.LoggerContext context =
          (ch.qos.logback.classic.LoggerContext) LoggerFactory.getILoggerFactory();
      return context.getLogger(name.equals(ROOT) ? org.slf4j.Logger.ROOT_LOGGER_NAME : name);
    }
  }
}
