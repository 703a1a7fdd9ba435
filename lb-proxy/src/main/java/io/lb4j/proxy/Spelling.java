package io.lb4j.proxy;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * "Did you mean" for a word that is not one of the known ones: the known words one edit away, where
 * an edit is one insertion, deletion or substitution of a character, or a swap of two adjacent
 * characters (Damerau–Levenshtein distance 1; Damerau, "A technique for computer detection and
 * correction of spelling errors", CACM 7(3), 1964, found these four to cover over 80% of
 * misspellings). Case counts as a difference: {@code Name} is one substitution from {@code name}.
 *
 * <p>Immutable and thread-safe.
 */
final class Spelling {
  private Spelling() {}

  /** Returns the words of {@code known} one edit away from {@code word}, in their order. */
  static List<String> near(String word, Collection<String> known) {
    List<String> out = new ArrayList<>();
    for (String k : known) {
      if (oneEditAway(word, k)) {
        out.add(k);
      }
    }
    return out;
  }

  /**
   * Returns whether {@code a} and {@code b} are at Damerau–Levenshtein distance exactly 1. Linear:
   * skips the common prefix and suffix, then what is left must be one of the four edits.
   */
  static boolean oneEditAway(String a, String b) {
    int la = a.length();
    int lb = b.length();
    if (Math.abs(la - lb) > 1 || a.equals(b)) {
      return false;
    }
    int start = 0;
    while (start < la && start < lb && a.charAt(start) == b.charAt(start)) {
      start++;
    }
    int endA = la;
    int endB = lb;
    while (endA > start && endB > start && a.charAt(endA - 1) == b.charAt(endB - 1)) {
      endA--;
      endB--;
    }
    int restA = endA - start;
    int restB = endB - start;
    if (restA + restB == 1) {
      return true; // one character inserted or deleted
    }
    if (restA == 1 && restB == 1) {
      return true; // one substituted
    }
    // two adjacent characters swapped: "ab" against "ba" once prefix and suffix are gone
    return restA == 2
        && restB == 2
        && a.charAt(start) == b.charAt(start + 1)
        && a.charAt(start + 1) == b.charAt(start);
  }

  /**
   * Returns {@code ; did you mean 'x'?} (or {@code 'x' or 'y'}) for the words of {@code known} one
   * edit from {@code word}, to follow a refusal of it; an empty string when there is none.
   */
  static String didYouMean(String word, List<String> known) {
    List<String> near = near(word, known);
    if (near.isEmpty()) {
      return "";
    }
    return "; did you mean '" + String.join("' or '", near) + "'?";
  }
}
