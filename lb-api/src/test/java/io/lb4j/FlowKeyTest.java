package io.lb4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import org.junit.jupiter.api.Test;

class FlowKeyTest {

  @Test
  void ipv4_roundTripsThroughInetAddress() throws Exception {
    FlowKey f = FlowKey.ipv4(0x7f000002, 40000, 0x7f000001, 80, Protocol.TCP);
    assertTrue(f.isIpv4());
    assertEquals(InetAddress.getByName("127.0.0.2"), f.sourceAddress());
    assertEquals(new InetSocketAddress("127.0.0.1", 80), f.destination());
    assertEquals("TCP 127.0.0.2:40000 -> 127.0.0.1:80", f.toString());
    assertEquals(
        f,
        FlowKey.of(
            Protocol.TCP,
            new InetSocketAddress("127.0.0.2", 40000),
            new InetSocketAddress("127.0.0.1", 80)));
    assertEquals(
        f.hashCode(), FlowKey.ipv4(0x7f000002, 40000, 0x7f000001, 80, Protocol.TCP).hashCode());
  }

  @Test
  void ipv6_roundTripsThroughInetAddress() throws Exception {
    FlowKey f =
        FlowKey.of(
            Protocol.UDP,
            new InetSocketAddress("::1", 5353),
            new InetSocketAddress("2001:db8::53", 53));
    assertFalse(f.isIpv4());
    assertEquals(InetAddress.getByName("2001:db8::53"), f.destinationAddress());
    assertEquals(0x20010db800000000L, f.destinationHigh());
    assertEquals(0x53L, f.destinationLow());
    assertEquals("UDP [::1]:5353 -> [2001:db8::53]:53", f.toString());
  }

  @Test
  void reversed_swapsEnds() {
    FlowKey f = FlowKey.ipv4(1, 2, 3, 4, Protocol.TCP);
    assertEquals(FlowKey.ipv4(3, 4, 1, 2, Protocol.TCP), f.reversed());
    assertNotEquals(f, f.reversed());
  }
}
