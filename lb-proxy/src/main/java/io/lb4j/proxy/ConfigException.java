package io.lb4j.proxy;

import java.util.Arrays;
import java.util.List;

/**
 * A configuration file the proxy cannot run, with every error found in it: one line each, in the
 * order of the file, {@code lb.yaml:12: backendPools[0].backends[1].port: 70000 (expected:
 * 0-65535)}. The message is those lines joined with newlines (one error: that line alone); a line
 * never holds a newline of its own (a value's are written {@code \n}), so each one can be grepped.
 *
 * <p>Immutable and thread-safe.
 */
public final class ConfigException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  private final String[] errors;

  ConfigException(List<String> errors, Throwable cause) {
    super(String.join("\n", errors), cause);
    if (errors.isEmpty()) {
      throw new IllegalArgumentException("errors: [] (expected: at least one)");
    }
    this.errors = errors.toArray(new String[0]);
  }

  /** Returns the errors, one line each, in the order of the file. */
  public List<String> errors() {
    return List.copyOf(Arrays.asList(errors));
  }

  /** Returns how many errors there are, as the last line of a report: {@code 3 errors}. */
  public String count() {
    return errors.length + (errors.length == 1 ? " error" : " errors");
  }
}
