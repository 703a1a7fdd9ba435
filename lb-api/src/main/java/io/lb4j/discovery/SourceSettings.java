package io.lb4j.discovery;

import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Checks shared by the {@link MembershipSourceProvider}s that read a {@code discovery:} block: one
 * message for a setting the type does not know, with the setting most likely meant.
 *
 * <p>Thread-safe; static methods only.
 */
public final class SourceSettings {
  private SourceSettings() {}

  /**
   * Refuses any key of {@code settings} that is not in {@code known}: {@code servce: 'api'
   * (expected: one of [service, port, namespace]; did you mean service?)}.
   *
   * @param settings the settings as the configuration file gives them
   * @param known every setting the source understands
   * @throws IllegalArgumentException for the first unknown key
   */
  public static void checkKnown(Map<String, Object> settings, List<String> known) {
    for (Map.Entry<String, Object> e : settings.entrySet()) {
      if (!known.contains(e.getKey())) {
        String near = nearest(e.getKey(), known);
        throw new IllegalArgumentException(
            e.getKey()
                + ": "
                + quote(e.getValue())
                + " (expected: one of "
                + known
                + (near == null ? "" : "; did you mean " + near + "?")
                + ")");
      }
    }
  }

  /**
   * Returns a setting's value as a message shows it: a string quoted, anything else as is.
   *
   * @param value a setting's value as YAML gives it
   * @return the value as text, a string in single quotes
   */
  public static String quote(Object value) {
    return value instanceof String ? "'" + value + "'" : String.valueOf(value);
  }

  /**
   * Returns the known setting {@code key} most likely meant — the same letters in another case, or
   * at most two edits away — or null.
   *
   * @param key the unknown setting
   * @param known every setting the source understands
   * @return the nearest known setting, or null when none is close
   */
  public static String nearest(String key, List<String> known) {
    String best = null;
    int bestDistance = 3;
    for (String s : known) {
      int d =
          s.equalsIgnoreCase(key)
              ? 0
              : distance(s.toLowerCase(Locale.ROOT), key.toLowerCase(Locale.ROOT));
      if (d < bestDistance) {
        best = s;
        bestDistance = d;
      }
    }
    return best;
  }

  /** Levenshtein distance. */
  private static int distance(String a, String b) {
    int[] prev = new int[b.length() + 1];
    int[] cur = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      prev[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      cur[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
      }
      int[] t = prev;
      prev = cur;
      cur = t;
    }
    return prev[b.length()];
  }
}
