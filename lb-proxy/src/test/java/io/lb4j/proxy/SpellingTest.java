package io.lb4j.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Damerau–Levenshtein distance 1, against a full dynamic-programming oracle. */
class SpellingTest {
  @ParameterizedTest(name = "{0} ~ {1}")
  @CsvSource({
    "frontend, frontnd", // deletion
    "frontnd, frontend", // insertion
    "frontend, frontand", // substitution
    "frontend, fronetnd", // transposition
    "frontend, rfontend", // transposition at the start
    "frontend, frontedn", // transposition at the end
    "frontend, Frontend", // case is a substitution
    "port, ports",
    "aab, ab",
    "a, ''",
  })
  void oneEditAway_eachOfTheFourEdits_true(String a, String b) {
    assertTrue(Spelling.oneEditAway(a, b));
    assertTrue(Spelling.oneEditAway(b, a));
  }

  @ParameterizedTest(name = "{0} !~ {1}")
  @CsvSource({
    "frontend, frontend", // equal
    "frontend, frnotned", // two transpositions
    "frontend, fronten_x", // two edits
    "abc, cab", // a rotation is two edits
    "port, weight",
    "'', ''",
    "ab, cd",
  })
  void oneEditAway_zeroOrTwoOrMoreEdits_false(String a, String b) {
    assertFalse(Spelling.oneEditAway(a, b));
    assertFalse(Spelling.oneEditAway(b, a));
  }

  @Test
  void near_returnsTheKnownWordsOneEditAway_inTheirOrder_notTheWordItself() {
    assertEquals(
        List.of("sort", "ports"), Spelling.near("port", List.of("port", "sort", "ports", "x")));
  }

  /**
   * Optimal string alignment distance, the textbook table (Damerau's edits, no substring twice).
   */
  private static int osa(String a, String b) {
    int[][] d = new int[a.length() + 1][b.length() + 1];
    for (int i = 0; i <= a.length(); i++) {
      d[i][0] = i;
    }
    for (int j = 0; j <= b.length(); j++) {
      d[0][j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      for (int j = 1; j <= b.length(); j++) {
        int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        d[i][j] = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
        if (i > 1
            && j > 1
            && a.charAt(i - 1) == b.charAt(j - 2)
            && a.charAt(i - 2) == b.charAt(j - 1)) {
          d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
        }
      }
    }
    return d[a.length()][b.length()];
  }

  @Test
  void oneEditAway_agreesWithTheTableOnRandomNearWords() {
    long seed = 20240516L;
    Random random = new Random(seed);
    String alphabet = "abc"; // few letters: many repeats, the hard cases for prefix and suffix
    int ones = 0;
    for (int n = 0; n < 20_000; n++) {
      String a = word(random, alphabet);
      String b = random.nextBoolean() ? word(random, alphabet) : edit(random, a, alphabet);
      boolean expected = osa(a, b) == 1;
      ones += expected ? 1 : 0;
      assertEquals(expected, Spelling.oneEditAway(a, b), "seed " + seed + ": " + a + " / " + b);
    }
    assertTrue(ones > 2_000, "the test must meet distance 1 often: " + ones);
  }

  private static String word(Random random, String alphabet) {
    StringBuilder s = new StringBuilder();
    for (int i = random.nextInt(7); i > 0; i--) {
      s.append(alphabet.charAt(random.nextInt(alphabet.length())));
    }
    return s.toString();
  }

  /** Returns {@code w} with one random edit (which may leave it equal, or undo itself). */
  private static String edit(Random random, String w, String alphabet) {
    StringBuilder s = new StringBuilder(w);
    char c = alphabet.charAt(random.nextInt(alphabet.length()));
    int at = w.isEmpty() ? 0 : random.nextInt(w.length());
    switch (w.isEmpty() ? 0 : random.nextInt(4)) {
      case 0 -> s.insert(random.nextInt(w.length() + 1), c);
      case 1 -> s.deleteCharAt(at);
      case 2 -> s.setCharAt(at, c);
      default -> {
        if (at + 1 < w.length()) {
          s.setCharAt(at, w.charAt(at + 1));
          s.setCharAt(at + 1, w.charAt(at));
        }
      }
    }
    return s.toString();
  }
}
