package io.lb4j.proxy;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonStreamContext;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The line of each path of a YAML document, for error messages: {@code
 * backendPools[0].discovery.type} → 14, and the keys given twice in one mapping. A key's line is
 * the line of the key, a list item's the line of its first token; a key given twice has the lines
 * of its last occurrence, whose value is the one read. Jackson's tree has no locations, so the
 * document is read a second time, as tokens: a pass over at most {@link
 * ConfigLoader#MAX_CONFIG_BYTES} that costs about a millisecond for a hundred-backend file.
 *
 * <p>Why duplicates are found here and not by Jackson's {@code STRICT_DUPLICATE_DETECTION}: that
 * stops the parse at the first one, and the loader reports every error of a file at once.
 *
 * <p>Immutable and thread-safe.
 */
final class YamlLines {
  private final Map<String, Integer> lines;
  private final List<String> duplicates;

  private YamlLines(Map<String, Integer> lines, List<String> duplicates) {
    this.lines = lines;
    this.duplicates = List.copyOf(duplicates);
  }

  /**
   * Returns the lines of {@code text} as {@code yaml} reads it; an empty index when it cannot be
   * read (an error message then goes without a line, never without its path).
   */
  static YamlLines of(ObjectMapper yaml, String text) {
    Map<String, Integer> lines = new HashMap<>();
    List<String> duplicates = new ArrayList<>();
    Deque<Set<String>> keys = new ArrayDeque<>(); // the keys seen in each open mapping
    try (JsonParser p = yaml.createParser(text)) {
      for (JsonToken t = p.nextToken(); t != null; t = p.nextToken()) {
        if (t == JsonToken.START_OBJECT) {
          keys.push(new HashSet<>());
        } else if (t == JsonToken.END_OBJECT) {
          keys.pop();
          continue;
        } else if (t == JsonToken.END_ARRAY) {
          continue;
        }
        String path = path(p.getParsingContext());
        if (path.isEmpty()) {
          continue;
        }
        int line = p.currentTokenLocation().getLineNr();
        if (t == JsonToken.FIELD_NAME && !keys.isEmpty() && !keys.peek().add(p.currentName())) {
          duplicates.add(path);
          // the last occurrence is the one read: its lines replace the first's
          lines.keySet().removeIf(k -> k.startsWith(path + ".") || k.startsWith(path + "["));
          lines.put(path, line);
        } else {
          lines.putIfAbsent(path, line);
        }
      }
    } catch (IOException | RuntimeException e) {
      // the document loaded once already; what was indexed before a failure is still right
    }
    return new YamlLines(lines, duplicates);
  }

  /** Returns the path of the current token: the field of an object, the index in a list. */
  private static String path(JsonStreamContext c) {
    StringBuilder out = new StringBuilder();
    for (; c != null && !c.inRoot(); c = c.getParent()) {
      String step;
      if (c.inArray()) {
        step = "[" + Math.max(0, c.getCurrentIndex()) + "]";
      } else if (c.getCurrentName() != null) {
        step = c.getCurrentName();
      } else {
        continue; // a mapping just opened: its path is its parent's
      }
      if (out.length() > 0 && out.charAt(0) != '[') {
        out.insert(0, '.');
      }
      out.insert(0, step);
    }
    return out.toString();
  }

  /**
   * Returns the paths of the keys given a second (or later) time in their mapping, in document
   * order: {@code loadBalancingRules[0].backendPort}.
   */
  List<String> duplicates() {
    return duplicates;
  }

  /**
   * Returns the line of {@code path}, or of its nearest ancestor in the document (a missing key is
   * reported at the line of the mapping that lacks it), or 0 when none is known.
   */
  int lineOf(String path) {
    String p = path;
    while (!p.isEmpty()) {
      Integer line = lines.get(p);
      if (line != null) {
        return line;
      }
      int cut = Math.max(p.lastIndexOf('.'), p.lastIndexOf('['));
      p = cut <= 0 ? "" : p.substring(0, cut);
    }
    return 0;
  }
}
