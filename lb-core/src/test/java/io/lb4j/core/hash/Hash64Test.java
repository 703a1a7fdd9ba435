package io.lb4j.core.hash;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import net.openhft.hashing.LongHashFunction;
import org.junit.jupiter.api.Test;

class Hash64Test {
  private static final long SEED = 20261121L;

  @Test
  void xxHash64_knownVectors_matchSpecification() {
    // Published XXH64 test vectors (seed 0).
    assertEquals(0xEF46DB3751D8E999L, Hash64.xxHash64(new byte[0], 0));
    assertEquals(0x44BC2CF5AD770999L, Hash64.xxHash64("abc", 0));
  }

  @Test
  void xxHash64_randomInputs_equalsZeroAllocationHashing() {
    SplittableRandom random = new SplittableRandom(SEED);
    for (int i = 0; i < 2000; i++) {
      byte[] bytes = new byte[random.nextInt(100)];
      for (int j = 0; j < bytes.length; j++) {
        bytes[j] = (byte) random.nextInt();
      }
      long seed = random.nextLong();
      assertEquals(
          LongHashFunction.xx(seed).hashBytes(bytes),
          Hash64.xxHash64(bytes, seed),
          "seed " + SEED + ", input " + i + " of " + bytes.length + " bytes");
    }
  }

  @Test
  void hashWords_threeAndTwoWords_equalXxHash64OfLittleEndianBytes() {
    SplittableRandom random = new SplittableRandom(SEED);
    for (int i = 0; i < 1000; i++) {
      long seed = random.nextLong();
      long a = random.nextLong();
      long b = random.nextLong();
      long c = random.nextLong();
      ByteBuffer buf = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
      buf.putLong(a).putLong(b).putLong(c);
      assertEquals(
          LongHashFunction.xx(seed).hashBytes(buf.array()),
          Hash64.hashWords(seed, a, b, c),
          "seed " + SEED);
      assertEquals(
          LongHashFunction.xx(seed).hashBytes(buf.array(), 0, 16),
          Hash64.hashWords(seed, a, b),
          "seed " + SEED);
    }
  }

  @Test
  void reduce_edgeValues_stayInRange() {
    int[] sizes = {1, 2, 7, 65537, 655373, Integer.MAX_VALUE};
    long[] hashes = {0, 1, -1, Long.MIN_VALUE, Long.MAX_VALUE};
    for (int n : sizes) {
      for (long h : hashes) {
        int r = Hash64.reduce(h, n);
        assertEquals(true, r >= 0 && r < n, "reduce(" + h + ", " + n + ") = " + r);
      }
      assertEquals(n - 1, Hash64.reduce(-1L, n), "all ones maps to the last index");
      assertEquals(0, Hash64.reduce(0L, n));
    }
  }

  @Test
  void reduce_uniformHashes_areUniform() {
    SplittableRandom random = new SplittableRandom(SEED);
    int n = 10;
    int[] counts = new int[n];
    int samples = 1_000_000;
    for (int i = 0; i < samples; i++) {
      counts[Hash64.reduce(random.nextLong(), n)]++;
    }
    for (int c : counts) {
      // mean 100000, sd about 300: 2% is over 6 sd
      assertEquals(samples / n, c, samples / n * 0.02, "seed " + SEED);
    }
  }

  @org.junit.jupiter.api.Test
  void xxHash64Utf8_equalsXxHash64OfTheUtf8Bytes() {
    java.util.SplittableRandom random = new java.util.SplittableRandom(3);
    char[] alphabet = {'a', 'Z', '0', '\u00e9', '\u0800', '\uffff', '\ud83d', '\ude00', '-'};
    for (int n = 0; n < 3000; n++) {
      int len = random.nextInt(80);
      StringBuilder sb = new StringBuilder();
      for (int i = 0; i < len; i++) {
        // half the strings mostly ASCII, so eight-ASCII-char words (the fast path) mix with
        // multi-byte chars that straddle words; unpaired surrogates included
        sb.append(
            n % 2 == 0 && random.nextInt(10) > 0
                ? (char) ('a' + random.nextInt(26))
                : alphabet[random.nextInt(alphabet.length)]);
      }
      String s = sb.toString();
      long seed = random.nextLong();
      org.junit.jupiter.api.Assertions.assertEquals(
          Hash64.xxHash64(s.getBytes(java.nio.charset.StandardCharsets.UTF_8), seed),
          Hash64.xxHash64Utf8(sb, seed),
          s);
    }
  }

  @org.junit.jupiter.api.Test
  void hashWord_equalsXxHash64OfItsEightBytes() {
    byte[] b = {1, 2, 3, 4, 5, 6, 7, 8};
    org.junit.jupiter.api.Assertions.assertEquals(
        Hash64.xxHash64(b, 9), Hash64.hashWord(9, 0x0807060504030201L));
  }
}
