package io.lb4j.proxy;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonStreamContext;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;

/**
 * The line of each path of a YAML document, for error messages: {@code
 * backendPools[0].discovery.type} → 14. A key's line is the line of the key, a list item's the line
 * of its first token. Jackson's tree has no locations, so the document is read a second time, as
 * tokens, and only when an error is to be reported: a file that loads costs nothing.
 *
 * <p>Immutable and thread-safe.
 */
final class YamlLines {
  private final Map<String, Integer> lines;

  private YamlLines(Map<String, Integer> lines) {
    this.lines = lines;
  }

  /**
   * Returns the lines of {@code text} as {@code yaml} reads it; an empty index when it cannot be
   * read (an error message then goes without a line, never without its path).
   */
  static YamlLines of(ObjectMapper yaml, String text) {
    Map<String, Integer> lines = new HashMap<>();
    try (JsonParser p = yaml.createParser(text)) {
      for (JsonToken t = p.nextToken(); t != null; t = p.nextToken()) {
        if (t == JsonToken.END_OBJECT || t == JsonToken.END_ARRAY) {
          continue;
        }
        String path = path(p.getParsingContext());
        if (!path.isEmpty()) {
          lines.putIfAbsent(path, p.currentTokenLocation().getLineNr());
        }
      }
    } catch (IOException | RuntimeException e) {
      // the document loaded once already; what was indexed before a failure is still right
    }
    return new YamlLines(lines);
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
