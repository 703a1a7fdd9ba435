package io.lb4j.core.hash;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lb4j.DistributionMode;
import io.lb4j.FlowKey;
import io.lb4j.Protocol;
import java.net.InetAddress;
import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class FlowHasherTest {
  private static final long SEED = 42;
  private static final int CLIENT = 0x7f000002; // 127.0.0.2
  private static final int FRONTEND = 0x7f000001; // 127.0.0.1

  @Test
  void hash_sourceIp_ignoresPortsAndProtocol() {
    long a =
        FlowHasher.hash(
            FlowKey.ipv4(CLIENT, 1000, FRONTEND, 80, Protocol.TCP),
            DistributionMode.SOURCE_IP,
            SEED);
    long b =
        FlowHasher.hash(
            FlowKey.ipv4(CLIENT, 2000, FRONTEND, 443, Protocol.UDP),
            DistributionMode.SOURCE_IP,
            SEED);
    assertEquals(a, b);
  }

  @Test
  void hash_sourceIpProtocol_separatesProtocolsIgnoresPorts() {
    long tcp =
        FlowHasher.hash(
            FlowKey.ipv4(CLIENT, 1000, FRONTEND, 80, Protocol.TCP),
            DistributionMode.SOURCE_IP_PROTOCOL,
            SEED);
    long tcpOtherPort =
        FlowHasher.hash(
            FlowKey.ipv4(CLIENT, 2000, FRONTEND, 80, Protocol.TCP),
            DistributionMode.SOURCE_IP_PROTOCOL,
            SEED);
    long udp =
        FlowHasher.hash(
            FlowKey.ipv4(CLIENT, 1000, FRONTEND, 80, Protocol.UDP),
            DistributionMode.SOURCE_IP_PROTOCOL,
            SEED);
    assertEquals(tcp, tcpOtherPort);
    assertNotEquals(tcp, udp);
  }

  @Test
  void hash_fiveTuple_dependsOnEveryField() {
    FlowKey base = FlowKey.ipv4(CLIENT, 1000, FRONTEND, 80, Protocol.TCP);
    FlowKey[] variants = {
      FlowKey.ipv4(CLIENT + 1, 1000, FRONTEND, 80, Protocol.TCP),
      FlowKey.ipv4(CLIENT, 1001, FRONTEND, 80, Protocol.TCP),
      FlowKey.ipv4(CLIENT, 1000, FRONTEND + 1, 80, Protocol.TCP),
      FlowKey.ipv4(CLIENT, 1000, FRONTEND, 81, Protocol.TCP),
      FlowKey.ipv4(CLIENT, 1000, FRONTEND, 80, Protocol.UDP),
      base.reversed(),
    };
    long h = FlowHasher.hash(base, DistributionMode.FIVE_TUPLE, SEED);
    for (FlowKey v : variants) {
      assertNotEquals(h, FlowHasher.hash(v, DistributionMode.FIVE_TUPLE, SEED), v.toString());
    }
    assertNotEquals(h, FlowHasher.hash(base, DistributionMode.FIVE_TUPLE, SEED + 1));
  }

  @ParameterizedTest
  @EnumSource(DistributionMode.class)
  void hash_primitiveAndInetAddressForms_agree(DistributionMode mode) throws Exception {
    FlowKey fromInet =
        FlowKey.of(
            Protocol.TCP,
            InetAddress.getByName("127.0.0.2"),
            1000,
            InetAddress.getByName("127.0.0.1"),
            80);
    FlowKey fromInts = FlowKey.ipv4(CLIENT, 1000, FRONTEND, 80, Protocol.TCP);
    assertEquals(fromInts, fromInet);
    assertEquals(FlowHasher.hash(fromInts, mode, SEED), FlowHasher.hash(fromInet, mode, SEED));
    assertEquals(
        FlowHasher.hash(fromInts, mode, SEED),
        FlowHasher.hashIpv4(CLIENT, 1000, FRONTEND, 80, Protocol.TCP, mode, SEED));
  }

  @Test
  void hash_ipv6_usesAllAddressBits() throws Exception {
    FlowKey a =
        FlowKey.of(
            Protocol.TCP,
            InetAddress.getByName("2001:db8::1"),
            1000,
            InetAddress.getByName("::1"),
            80);
    FlowKey b =
        FlowKey.of(
            Protocol.TCP,
            InetAddress.getByName("2001:db9::1"),
            1000,
            InetAddress.getByName("::1"),
            80);
    assertNotEquals(
        FlowHasher.hash(a, DistributionMode.SOURCE_IP, SEED),
        FlowHasher.hash(b, DistributionMode.SOURCE_IP, SEED));
    assertEquals("TCP [2001:db8::1]:1000 -> [::1]:80", a.toString());
  }

  @Test
  void hash_manySourcePorts_spreadOverBuckets() {
    // 65,536 source ports of one client into 64 buckets: each bucket near 1024 (sd 32).
    int[] buckets = new int[64];
    for (int port = 0; port < 65536; port++) {
      long h =
          FlowHasher.hash(
              FlowKey.ipv4(CLIENT, port, FRONTEND, 80, Protocol.TCP),
              DistributionMode.FIVE_TUPLE,
              SEED);
      buckets[Hash64.reduce(h, 64)]++;
    }
    for (int c : buckets) {
      assertTrue(c > 1024 - 200 && c < 1024 + 200, "bucket count " + c);
    }
  }

  @Test
  void hash_distinctFlows_haveDistinctHashes() {
    SplittableRandom random = new SplittableRandom(SEED);
    Set<Long> seen = new HashSet<>();
    for (int i = 0; i < 100_000; i++) {
      FlowKey f = FlowKey.ipv4(random.nextInt(), random.nextInt(65536), FRONTEND, 80, Protocol.TCP);
      seen.add(FlowHasher.hash(f, DistributionMode.FIVE_TUPLE, SEED));
    }
    assertTrue(seen.size() >= 99_999, "collisions among 100000 flows: " + (100_000 - seen.size()));
  }
}
