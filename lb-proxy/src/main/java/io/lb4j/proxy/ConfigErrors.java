package io.lb4j.proxy;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The errors found while reading one configuration file, each at its path, so that the file is
 * refused with all of them at once, as {@code haproxy -c} does, instead of the first alone. The
 * reader records an error and reads on; {@link #toException} puts the file name and each path's
 * line in front and orders them as the file does.
 *
 * <p>An error that only follows from another is left out: a misspelt key that names a known one
 * ({@code frontnd} for {@code frontend}) {@linkplain #cover covers} the known key's path, whose
 * "missing" would say the same thing again; and the same error recorded twice is kept once.
 *
 * <p>Not thread-safe: one per file read.
 */
final class ConfigErrors {
  private record Entry(String path, String message) {}

  private final List<Entry> entries = new ArrayList<>();
  private final Set<Entry> seen = new HashSet<>();
  private final Set<String> covered = new HashSet<>();

  /** Records the error {@code message} at {@code path} (empty for the whole file). */
  void add(String path, String message) {
    Entry e = new Entry(path, message);
    if (!covered.contains(path) && seen.add(e)) {
      entries.add(e);
    }
  }

  /** Leaves out the errors at {@code path} from now on: one already reported explains them. */
  void cover(String path) {
    covered.add(path);
  }

  /** Returns whether no error was recorded. */
  boolean isEmpty() {
    return entries.isEmpty();
  }

  /**
   * Returns the errors as an exception, one line each, {@code lb.yaml:12: path: message}, ordered
   * by line (errors of the whole file, which have none, first), in the order found within a line.
   *
   * @throws IllegalStateException if there are none
   */
  ConfigException toException(String name, YamlLines lines, Throwable cause) {
    if (entries.isEmpty()) {
      throw new IllegalStateException("no errors to report for " + name);
    }
    record Located(int line, String text) {}
    List<Located> located = new ArrayList<>();
    for (Entry e : entries) {
      int line = e.path().isEmpty() ? 0 : lines.lineOf(e.path());
      located.add(new Located(line, line(name, line, e.path(), e.message())));
    }
    located.sort(Comparator.comparingInt(Located::line)); // stable: found order within a line
    List<String> out = new ArrayList<>();
    for (Located l : located) {
      out.add(l.text());
    }
    return new ConfigException(out, cause);
  }

  /** Returns one error's line: {@code lb.yaml:12: path: message}, without its line when 0. */
  static String line(String name, int line, String path, String message) {
    return oneLine(
        name + (line > 0 ? ":" + line : "") + ": " + (path.isEmpty() ? "" : path + ": ") + message);
  }

  /**
   * Returns {@code text} with its line breaks and other control characters written out ({@code \n},
   * {@code \r}, {@code \t}, the rest as Java's Unicode escapes), so that one error is one line: a
   * value may span lines, and a report is read with grep.
   */
  static String oneLine(String text) {
    StringBuilder out = null;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c >= 0x20 && c != 0x7f) {
        if (out != null) {
          out.append(c);
        }
        continue;
      }
      if (out == null) {
        out = new StringBuilder(text.length() + 8).append(text, 0, i);
      }
      switch (c) {
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        default -> out.append(String.format("\\u%04x", (int) c));
      }
    }
    return out == null ? text : out.toString();
  }
}
