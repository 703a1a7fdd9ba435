package io.lb4j;

import java.util.ArrayList;
import java.util.List;

/**
 * An inclusive range of HTTP status codes a probe accepts, such as {@code 200} or {@code 200-399}.
 *
 * <p>{@link #toString()} reads {@code 200} or {@code 200-399}, the form {@link #parseList} reads.
 *
 * <p>Instances are immutable and thread-safe.
 *
 * @param from the lowest accepted status, 100-599
 * @param to the highest accepted status, {@code from}-599
 */
public record StatusRange(int from, int to) {

  /**
   * Validates the range.
   *
   * @param from the lowest accepted status, 100-599
   * @param to the highest accepted status, {@code from}-599
   */
  public StatusRange {
    Checks.range("from", from, 100, 599);
    Checks.range("to", to, from, 599);
  }

  /**
   * Returns the range of the single status {@code status}.
   *
   * @param status the status, 100-599
   * @return the range from {@code status} to {@code status}
   */
  public static StatusRange of(int status) {
    return new StatusRange(status, status);
  }

  /**
   * Parses a comma-separated list of statuses and ranges, such as {@code "200,204,300-399"}.
   *
   * @param spec statuses and ranges separated by commas, each within 100-599; spaces around them
   *     are allowed
   * @return the ranges, in the order given
   * @throws IllegalArgumentException naming the bad element if the list is malformed
   */
  public static List<StatusRange> parseList(String spec) {
    Checks.notNull(spec, "expectedStatuses");
    List<StatusRange> ranges = new ArrayList<>();
    for (String part : spec.split(",", -1)) {
      String p = part.trim();
      try {
        int dash = p.indexOf('-');
        if (dash < 0) {
          ranges.add(of(Integer.parseInt(p)));
        } else {
          ranges.add(
              new StatusRange(
                  Integer.parseInt(p.substring(0, dash).trim()),
                  Integer.parseInt(p.substring(dash + 1).trim())));
        }
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            "expectedStatuses: '"
                + spec
                + "' (expected: statuses or ranges within 100-599 such as '200,300-399'; bad"
                + " element: '"
                + p
                + "')",
            e);
      }
    }
    return List.copyOf(ranges);
  }

  /**
   * Returns whether {@code status} lies in this range.
   *
   * @param status an HTTP status code
   * @return true if {@code from <= status <= to}
   */
  public boolean contains(int status) {
    return status >= from && status <= to;
  }

  @Override
  public String toString() {
    return from == to ? Integer.toString(from) : from + "-" + to;
  }
}
