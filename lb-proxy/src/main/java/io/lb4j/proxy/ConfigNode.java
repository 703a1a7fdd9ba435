package io.lb4j.proxy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.lb4j.Durations;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * A YAML node with its path from the root, such as {@code loadBalancingRules[1]}, and the errors of
 * the file. A reader that meets a value it cannot read records the error, marks the node and its
 * ancestors unreadable, and returns the key's default (or null, 0 or an empty list for a key
 * without one), so that the reading goes on to the next key. A node with an error is not built; an
 * unreadable one is not even checked by the model, whose refusal would only repeat the error (a
 * missing name refused again as null).
 *
 * <p>Not thread-safe: one per element read, by one thread.
 */
final class ConfigNode {
  /** A producer that may throw; its errors get the node's path. */
  interface Build<T> {
    T get() throws Exception;
  }

  final String path;
  final JsonNode json;
  final ConfigNode parent;
  final ConfigErrors errors;

  /** An error at this node or below: its element is not used. */
  private boolean failed;

  /** A value of this node or below could not be read: the model's checks would repeat it. */
  private boolean unreadable;

  ConfigNode(String path, JsonNode json, ConfigNode parent, ConfigErrors errors) {
    this.path = path;
    this.json = json;
    this.parent = parent;
    this.errors = errors;
  }

  String at(String field) {
    return path.isEmpty() ? field : path + "." + field;
  }

  /**
   * Records an error that leaves this node's values usable, such as an unknown key or a reference
   * to an element that is not defined.
   */
  void error(String at, String message) {
    errors.add(at, message);
  }

  /** Records an error about a value that cannot be read: this node and its ancestors fail. */
  void fail(String at, String message) {
    errors.add(at, message);
    markUnreadable();
  }

  private void markUnreadable() {
    for (ConfigNode n = this; n != null && !n.unreadable; n = n.parent) {
      n.failed = true;
      n.unreadable = true;
    }
  }

  /**
   * Records the refusal of a value that was read: this node fails, its other values still hold (a
   * frontend's refused address says nothing of its connection limit); for the nodes above it, whose
   * values it is part of, it is unreadable.
   */
  void refuse(String at, String message) {
    errors.add(at, message);
    failed = true;
    if (parent != null) {
      parent.markUnreadable();
    }
  }

  /** Whether this node, or one below it, has an error. */
  boolean failed() {
    return failed;
  }

  boolean has(String field) {
    return json.has(field) && !json.get(field).isNull();
  }

  /** Returns the mapping at {@code field}; an empty one, after an error, when it is not one. */
  ConfigNode child(String field) {
    JsonNode c = json.get(field);
    if (c == null || !c.isObject()) {
      fail(at(field), describe(c) + " (expected: a mapping)");
      return new ConfigNode(at(field), JsonNodeFactory.instance.objectNode(), this, errors);
    }
    return new ConfigNode(at(field), c, this, errors);
  }

  /**
   * Records an error for each key other than {@code known}, so that a typo never passes silently; a
   * key one edit from a known key that is absent is a misspelling of it, whose "missing" is then
   * left out.
   */
  void only(String... known) {
    List<String> allowed = Arrays.asList(known);
    for (Iterator<String> it = json.fieldNames(); it.hasNext(); ) {
      String f = it.next();
      if (allowed.contains(f)) {
        continue;
      }
      List<String> near = Spelling.near(f, allowed);
      error(
          at(f),
          "unknown key"
              + Spelling.didYouMean(f, allowed)
              + " (expected one of: "
              + new LinkedHashSet<>(allowed)
              + ")");
      if (near.size() == 1 && !json.has(near.get(0))) {
        errors.cover(at(near.get(0)));
      }
    }
  }

  List<ConfigNode> list(String field, boolean required) {
    JsonNode l = json.get(field);
    if (l == null || l.isNull()) {
      if (required) {
        fail(at(field), "missing (expected: a list)");
      }
      return List.of();
    }
    if (!l.isArray()) {
      fail(at(field), describe(l) + " (expected: a list)");
      return List.of();
    }
    List<ConfigNode> out = new ArrayList<>();
    for (int i = 0; i < l.size(); i++) {
      out.add(new ConfigNode(at(field) + "[" + i + "]", l.get(i), this, errors));
    }
    return out;
  }

  /** Returns this node's value as text; null, after an error, when it is not a value. */
  String scalar() {
    if (!json.isValueNode() || json.isNull()) {
      fail(path, describe(json) + " (expected: a value)");
      return null;
    }
    return json.asText();
  }

  /** Returns the value at {@code field} as text, or {@code fallback}; null after an error. */
  String string(String field, String fallback) {
    JsonNode v = json.get(field);
    if (v == null || v.isNull()) {
      if (fallback == null) {
        fail(at(field), "missing (expected: a value)");
      }
      return fallback;
    }
    if (!v.isValueNode()) {
      fail(at(field), describe(v) + " (expected: a value)");
      return null;
    }
    return v.asText();
  }

  /**
   * Returns the value at {@code field} read by {@code read} when {@code ok} accepts it, {@code
   * fallback} when it is absent (an error when there is none), else an error saying {@code
   * expected}; after an error, {@code fallback}, or {@code error} when there is none.
   */
  private <T> T typed(
      String field,
      T fallback,
      T error,
      Predicate<JsonNode> ok,
      String expected,
      Function<JsonNode, T> read) {
    JsonNode v = json.get(field);
    if (v == null || v.isNull()) {
      if (fallback == null) {
        fail(at(field), "missing (expected: " + expected + ")");
        return error;
      }
      return fallback;
    }
    if (!ok.test(v)) {
      fail(at(field), describe(v) + " (expected: " + expected + ")");
      return fallback == null ? error : fallback;
    }
    return read.apply(v);
  }

  int integer(String field, Integer fallback) {
    return typed(
        field,
        fallback,
        0,
        v -> v.isIntegralNumber() && v.canConvertToInt(),
        "a whole number",
        JsonNode::asInt);
  }

  long longValue(String field) {
    return typed(
        field,
        null,
        0L,
        v -> v.isIntegralNumber() && v.canConvertToLong(),
        "a whole number",
        JsonNode::asLong);
  }

  double decimal(String field, double fallback) {
    return typed(field, fallback, fallback, JsonNode::isNumber, "a number", JsonNode::asDouble);
  }

  boolean bool(String field, boolean fallback) {
    return typed(
        field, fallback, fallback, JsonNode::isBoolean, "true or false", JsonNode::asBoolean);
  }

  <E extends Enum<E>> E enumeration(String field, Class<E> type, E fallback) {
    JsonNode v = json.get(field);
    if (v == null || v.isNull()) {
      return fallback;
    }
    String s = v.asText().trim().toUpperCase(Locale.ROOT).replace('-', '_');
    for (E e : type.getEnumConstants()) {
      if (e.name().equals(s)) {
        return e;
      }
    }
    fail(
        at(field),
        describe(v) + " (expected one of: " + Arrays.toString(type.getEnumConstants()) + ")");
    return fallback;
  }

  Duration duration(String field, Duration fallback) {
    JsonNode v = json.get(field);
    if (v == null || v.isNull()) {
      return fallback;
    }
    if (!v.isValueNode()) {
      fail(at(field), describe(v) + " (expected: a duration such as 5s)");
      return fallback;
    }
    try {
      return Durations.parse(at(field), v.asText());
    } catch (IllegalArgumentException e) {
      String m = e.getMessage(); // "<path>: '5 s' (expected: ...)": the value and the forms
      String prefix = at(field) + ": ";
      fail(at(field), m.startsWith(prefix) ? m.substring(prefix.length()) : m);
      return fallback;
    }
  }

  /**
   * Runs {@code build}, which makes a model value of this node's values (read before, so that a
   * model setter that throws does not keep the keys after it unread); returns the value, or null
   * when this node (or one below it) has an error. A model value's refusal is recorded with this
   * node's path ({@code "weight: 70000 (...)"} becomes {@code "...backends[2].weight: 70000
   * (...)"}) unless the node is unreadable: the refusal then comes from a value that could not be
   * read, and says again what is recorded.
   */
  <T> T build(Build<T> build) {
    T value;
    try {
      value = build.get();
    } catch (IllegalArgumentException | IllegalStateException | NullPointerException e) {
      if (!unreadable) {
        String message = String.valueOf(e.getMessage());
        int colon = message.indexOf(':');
        String field = colon > 0 ? message.substring(0, colon) : "";
        if (json.has(field)) {
          refuse(at(field), message.substring(colon + 2));
        } else {
          refuse(path, message);
        }
      }
      failed = true;
      return null;
    } catch (Exception e) {
      if (!unreadable) {
        refuse(path, e.toString());
      }
      failed = true;
      return null;
    }
    return failed ? null : value;
  }

  private static String describe(JsonNode v) {
    if (v == null || v.isNull()) {
      return "missing";
    }
    if (v.isTextual()) {
      return "'" + v.asText() + "'";
    }
    if (v.isArray()) {
      return "a list";
    }
    if (v.isObject()) {
      return "a mapping";
    }
    return v.asText();
  }
}
