package io.lb4j.core.hash;

import java.nio.charset.StandardCharsets;

/**
 * The 64-bit hash functions lb4j builds on: xxHash64 (Yann Collet, XXH64 specification) over bytes
 * and over a few {@code long} words, and the SplitMix64 finalizer.
 *
 * <p>{@link #xxHash64(byte[], long)} is XXH64 exactly. {@link #hashWords} is XXH64's path for
 * inputs shorter than 32 bytes applied to the words' little-endian bytes, so for up to three words
 * it equals XXH64 of those bytes; for more words it is the same construction, no longer equal to
 * XXH64 (which switches to four lanes at 32 bytes).
 *
 * <p>All methods are pure functions of their arguments: the same input and seed give the same hash
 * in every JVM.
 *
 * <p>Thread-safe.
 */
public final class Hash64 {
  static final long P1 = 0x9E3779B185EBCA87L;
  static final long P2 = 0xC2B2AE3D27D4EB4FL;
  static final long P3 = 0x165667B19E3779F9L;
  static final long P4 = 0x85EBCA77C2B2AE63L;
  static final long P5 = 0x27D4EB2F165667C5L;

  private Hash64() {}

  /**
   * Returns XXH64 of the UTF-8 bytes of {@code s} with {@code seed}.
   *
   * @param s the string, not null
   * @param seed the seed
   * @return the 64-bit hash
   */
  public static long xxHash64(String s, long seed) {
    return xxHash64(s.getBytes(StandardCharsets.UTF_8), seed);
  }

  /**
   * Returns XXH64 of {@code bytes} with {@code seed}.
   *
   * @param bytes the bytes, not null
   * @param seed the seed
   * @return the 64-bit hash
   */
  public static long xxHash64(byte[] bytes, long seed) {
    int len = bytes.length;
    int i = 0;
    long h;
    if (len >= 32) {
      long v1 = seed + P1 + P2;
      long v2 = seed + P2;
      long v3 = seed;
      long v4 = seed - P1;
      do {
        v1 = round(v1, readLong(bytes, i));
        v2 = round(v2, readLong(bytes, i + 8));
        v3 = round(v3, readLong(bytes, i + 16));
        v4 = round(v4, readLong(bytes, i + 24));
        i += 32;
      } while (i <= len - 32);
      h = mergeStripes(v1, v2, v3, v4);
    } else {
      h = seed + P5;
    }
    h += len;
    while (i <= len - 8) {
      h ^= round(0, readLong(bytes, i));
      h = Long.rotateLeft(h, 27) * P1 + P4;
      i += 8;
    }
    if (i <= len - 4) {
      h ^= (readInt(bytes, i) & 0xFFFF_FFFFL) * P1;
      h = Long.rotateLeft(h, 23) * P2 + P3;
      i += 4;
    }
    while (i < len) {
      h ^= (bytes[i] & 0xFFL) * P5;
      h = Long.rotateLeft(h, 11) * P1;
      i++;
    }
    return avalanche(h);
  }

  /**
   * Returns the hash of one word (8 bytes): XXH64 of its little-endian bytes.
   *
   * @param seed the seed
   * @param w0 the word
   * @return the 64-bit hash, equal to XXH64 of the 8 bytes
   */
  public static long hashWord(long seed, long w0) {
    return avalanche(step(seed + P5 + 8, w0));
  }

  /**
   * Returns XXH64 of the UTF-8 encoding of {@code s} with {@code seed}, encoding as it hashes, so
   * nothing is allocated: equal to {@code xxHash64(s.toString().getBytes(UTF_8), seed)}, an
   * unpaired surrogate encoded as {@code '?'} as {@link String#getBytes} encodes it.
   *
   * @param s the characters, not null
   * @param seed the seed
   * @return the 64-bit hash
   */
  public static long xxHash64Utf8(CharSequence s, long seed) {
    long v1 = seed + P1 + P2;
    long v2 = seed + P2;
    long v3 = seed;
    long v4 = seed - P1;
    long w0 = 0;
    long w1 = 0;
    long w2 = 0;
    int words = 0; // complete words of the stripe being filled, 0-3
    long len = 0;
    boolean striped = false;
    long carry = 0; // the bytes of an encoded char not yet in a word, little-endian
    int carryBytes = 0;
    long acc; // the word being filled, little-endian
    int accBytes;
    int n = s.length();
    int i = 0;
    while (true) {
      acc = 0;
      accBytes = 0;
      if (carryBytes == 0 && i + 8 <= n) { // eight ASCII chars are one word as they are
        long w = 0;
        int j = 0;
        for (char c; j < 8 && (c = s.charAt(i + j)) < 0x80; j++) {
          w |= (long) c << (j << 3);
        }
        if (j == 8) {
          acc = w;
          accBytes = 8;
          i += 8;
        }
      }
      while (accBytes < 8) {
        if (carryBytes == 0) {
          if (i >= n) {
            break;
          }
          char c = s.charAt(i++);
          if (c < 0x80) {
            carry = c;
            carryBytes = 1;
          } else if (c < 0x800) {
            carry = (0xC0 | c >> 6) | (0x80 | c & 0x3F) << 8;
            carryBytes = 2;
          } else if (!Character.isSurrogate(c)) {
            carry = (0xE0 | c >> 12) | (0x80 | (c >> 6) & 0x3F) << 8 | (0x80 | c & 0x3F) << 16;
            carryBytes = 3;
          } else if (Character.isHighSurrogate(c)
              && i < n
              && Character.isLowSurrogate(s.charAt(i))) {
            int cp = Character.toCodePoint(c, s.charAt(i++));
            carry =
                ((0xF0 | cp >> 18)
                        | (0x80 | (cp >> 12) & 0x3F) << 8
                        | (0x80 | (cp >> 6) & 0x3F) << 16
                        | (0x80 | cp & 0x3F) << 24)
                    & 0xFFFF_FFFFL;
            carryBytes = 4;
          } else {
            carry = '?';
            carryBytes = 1;
          }
        }
        acc |= (carry & 0xFFL) << (accBytes << 3);
        carry >>>= 8;
        carryBytes--;
        accBytes++;
      }
      if (accBytes < 8) {
        break; // the input ended: acc holds the last accBytes bytes
      }
      switch (words) {
        case 0:
          w0 = acc;
          break;
        case 1:
          w1 = acc;
          break;
        case 2:
          w2 = acc;
          break;
        default:
          v1 = round(v1, w0);
          v2 = round(v2, w1);
          v3 = round(v3, w2);
          v4 = round(v4, acc);
          striped = true;
      }
      words = (words + 1) & 3;
      len += 8;
    }
    long h;
    if (striped) {
      h = mergeStripes(v1, v2, v3, v4);
    } else {
      h = seed + P5;
    }
    h += len + accBytes;
    if (words > 0) {
      h = step(h, w0);
    }
    if (words > 1) {
      h = step(h, w1);
    }
    if (words > 2) {
      h = step(h, w2);
    }
    int j = 0;
    if (accBytes >= 4) {
      h ^= (acc & 0xFFFF_FFFFL) * P1;
      h = Long.rotateLeft(h, 23) * P2 + P3;
      acc >>>= 32;
      j = 4;
    }
    for (; j < accBytes; j++, acc >>>= 8) {
      h ^= (acc & 0xFFL) * P5;
      h = Long.rotateLeft(h, 11) * P1;
    }
    return avalanche(h);
  }

  /**
   * Returns the hash of three words (24 bytes): XXH64 of their little-endian bytes.
   *
   * @param seed the seed
   * @param w0 the first word
   * @param w1 the second word
   * @param w2 the third word
   * @return the 64-bit hash, equal to XXH64 of the 24 bytes
   */
  public static long hashWords(long seed, long w0, long w1, long w2) {
    long h = seed + P5 + 24;
    h = step(h, w0);
    h = step(h, w1);
    h = step(h, w2);
    return avalanche(h);
  }

  /**
   * Returns the hash of five words, by XXH64's short-input construction (see class javadoc).
   *
   * @param seed the seed
   * @param w0 the first word
   * @param w1 the second word
   * @param w2 the third word
   * @param w3 the fourth word
   * @param w4 the fifth word
   * @return the 64-bit hash, equal to XXH64 of the 40 bytes
   */
  public static long hashWords(long seed, long w0, long w1, long w2, long w3, long w4) {
    long h = seed + P5 + 40;
    h = step(h, w0);
    h = step(h, w1);
    h = step(h, w2);
    h = step(h, w3);
    h = step(h, w4);
    return avalanche(h);
  }

  /**
   * Returns the hash of two words (16 bytes): XXH64 of their little-endian bytes.
   *
   * @param seed the seed
   * @param w0 the first word
   * @param w1 the second word
   * @return the 64-bit hash, equal to XXH64 of the 16 bytes
   */
  public static long hashWords(long seed, long w0, long w1) {
    long h = seed + P5 + 16;
    h = step(h, w0);
    h = step(h, w1);
    return avalanche(h);
  }

  /**
   * Returns the SplitMix64 finalizer of {@code z} (Steele, Lea and Flood, "Fast splittable
   * pseudorandom number generators", 2014): a bijection with full avalanche.
   *
   * @param z any 64 bits
   * @return the mixed 64 bits
   */
  public static long mix64(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  /**
   * Returns {@code ⌊hash × n / 2^64⌋} for {@code hash} read as unsigned: a uniform index in {@code
   * [0, n)} from the high bits, without a division (Lemire, "Fast random integer generation in an
   * interval", 2019). Equals {@code Math.unsignedMultiplyHigh(hash, n)} of JDK 18.
   *
   * @param hash a 64-bit hash, read as unsigned
   * @param n the number of slots, above 0
   * @return an index in {@code [0, n)}
   */
  public static int reduce(long hash, int n) {
    return (int) (Math.multiplyHigh(hash, n) + ((hash >> 63) & n));
  }

  /**
   * Returns a double uniform in (0, 1) from the high 53 bits of {@code hash}.
   *
   * @param hash a 64-bit hash
   * @return a double above 0 and below 1
   */
  public static double unitInterval(long hash) {
    return ((hash >>> 11) + 0.5) * 0x1.0p-53;
  }

  private static long step(long h, long word) {
    h ^= round(0, word);
    return Long.rotateLeft(h, 27) * P1 + P4;
  }

  private static long round(long acc, long input) {
    acc += input * P2;
    acc = Long.rotateLeft(acc, 31);
    return acc * P1;
  }

  private static long mergeStripes(long v1, long v2, long v3, long v4) {
    long h =
        Long.rotateLeft(v1, 1)
            + Long.rotateLeft(v2, 7)
            + Long.rotateLeft(v3, 12)
            + Long.rotateLeft(v4, 18);
    h = mergeRound(h, v1);
    h = mergeRound(h, v2);
    h = mergeRound(h, v3);
    return mergeRound(h, v4);
  }

  private static long mergeRound(long acc, long val) {
    acc ^= round(0, val);
    return acc * P1 + P4;
  }

  private static long avalanche(long h) {
    h ^= h >>> 33;
    h *= P2;
    h ^= h >>> 29;
    h *= P3;
    return h ^ (h >>> 32);
  }

  private static long readLong(byte[] b, int i) {
    return (b[i] & 0xFFL)
        | (b[i + 1] & 0xFFL) << 8
        | (b[i + 2] & 0xFFL) << 16
        | (b[i + 3] & 0xFFL) << 24
        | (b[i + 4] & 0xFFL) << 32
        | (b[i + 5] & 0xFFL) << 40
        | (b[i + 6] & 0xFFL) << 48
        | (b[i + 7] & 0xFFL) << 56;
  }

  private static int readInt(byte[] b, int i) {
    return (b[i] & 0xFF)
        | (b[i + 1] & 0xFF) << 8
        | (b[i + 2] & 0xFF) << 16
        | (b[i + 3] & 0xFF) << 24;
  }
}
