package io.lb4j.netty;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lb4j.spi.Ticker;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import java.io.ByteArrayOutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@link ProxyProtocolDecoder} through {@link EmbeddedChannel}, every buffer leak-tracked. */
class ProxyProtocolDecoderTest {
  private static final byte[] SIGNATURE = {
    0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A
  };

  /** The header deadline of these tests, on the channel's frozen clock. */
  private static final long DEADLINE_NANOS = TimeUnit.SECONDS.toNanos(1);

  private Route route;
  private Recorder next;
  private EmbeddedChannel ch;

  @AfterAll
  static void noLeaks() {
    assertEquals(List.of(), LeakRecorder.collect(), "Netty reported leaked buffers");
  }

  @BeforeEach
  void setUp() {
    route = route();
    next = new Recorder();
    ch = new EmbeddedChannel();
    ch.freezeTime(); // the header deadline runs on the channel's fake clock: advanceTimeBy
    ch.pipeline().addLast("proxy-protocol", new ProxyProtocolDecoder(route, DEADLINE_NANOS));
    ch.pipeline().addLast("next", next);
  }

  @AfterEach
  void tearDown() {
    ch.finishAndReleaseAll();
  }

  /** A route of frontend "fe" expecting PROXY headers, with fresh counters. */
  static Route route() {
    return new Route(
        "app",
        "fe",
        1_000_000_000L,
        "idle for 1s",
        false,
        RuleOptions.DEFAULT,
        ConnectRetryPolicy.maxAttempts(3),
        new FrontendOptions(true, 0, List.of(), List.of()),
        Set.of(),
        new Counters(),
        new Counters(),
        new Refusals("app", Ticker.system(), InstantSource.system(), "fe", FrontendOptions.DEFAULT),
        new ConcurrentHashMap<>(),
        new ConcurrentHashMap<>(),
        null);
  }

  private static ByteBuf buf(byte[] bytes) {
    ByteBuf b = PooledByteBufAllocator.DEFAULT.buffer(bytes.length);
    return b.writeBytes(bytes);
  }

  private void write(byte[] bytes) {
    ch.writeInbound(buf(bytes));
  }

  private static InetSocketAddress address(String host, int port) throws Exception {
    return new InetSocketAddress(InetAddress.getByName(host), port);
  }

  private void assertDecoded(ProxiedAddresses expected, String after) {
    assertEquals(List.of(expected), next.events);
    assertEquals(after, next.bytes.toString(US_ASCII));
    assertNull(ch.pipeline().get("proxy-protocol"), "the decoder removed itself");
    assertTrue(ch.isOpen());
    assertEquals(0, route.frontendCounters().snapshot().proxyHeaderErrors());
  }

  private void assertRefused() {
    assertFalse(ch.isOpen(), "closed");
    assertEquals(List.of(), next.events);
    assertEquals(0, next.bytes.size(), "no byte passed on");
    Counters.Snapshot fe = route.frontendCounters().snapshot();
    assertEquals(1, fe.proxyHeaderErrors());
    assertEquals(1, fe.refusals());
    assertEquals(1, route.ruleCounters().snapshot().proxyHeaderErrors());
    assertEquals(1, route.ruleCounters().snapshot().refusals());
  }

  private static byte[] v2(int versionCommand, int familyTransport, byte[] body) {
    ByteBuffer b = ByteBuffer.allocate(16 + body.length);
    b.put(SIGNATURE).put((byte) versionCommand).put((byte) familyTransport);
    b.putShort((short) body.length).put(body);
    return b.array();
  }

  private static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] p : parts) {
      out.writeBytes(p);
    }
    return out.toByteArray();
  }

  @Test
  void decode_v1Tcp4_firesAddressesPassesTheRestAndRemovesItself() throws Exception {
    write("PROXY TCP4 127.0.0.77 127.0.0.1 5555 80\r\nEND".getBytes(US_ASCII));
    assertDecoded(
        new ProxiedAddresses(address("127.0.0.77", 5555), address("127.0.0.1", 80)), "END");
  }

  @Test
  void decode_v1Tcp6_firesAddresses() throws Exception {
    write("PROXY TCP6 ::1 2001:db8::2 65535 0\r\n".getBytes(US_ASCII));
    assertDecoded(new ProxiedAddresses(address("::1", 65535), address("2001:db8::2", 0)), "");
  }

  @Test
  void decode_v1Unknown_keepsTheConnectionsAddresses() {
    write("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\nhi".getBytes(US_ASCII));
    assertDecoded(ProxiedAddresses.LOCAL, "hi");
  }

  @Test
  void decode_v2Ipv4WithTlv_firesAddressesAndSkipsTheTlv() throws Exception {
    byte[] body = {
      127,
      0,
      0,
      9,
      127,
      0,
      0,
      1,
      0x15,
      (byte) 0xB3,
      0,
      80, // 127.0.0.9:5555 -> 127.0.0.1:80
      0x04,
      0,
      1,
      0x2A // a NOOP TLV of one byte
    };
    write(concat(v2(0x21, 0x11, body), "END".getBytes(US_ASCII)));
    assertDecoded(
        new ProxiedAddresses(address("127.0.0.9", 5555), address("127.0.0.1", 80)), "END");
  }

  @Test
  void decode_v2Ipv6_firesAddresses() throws Exception {
    ByteBuffer body = ByteBuffer.allocate(36);
    body.put(InetAddress.getByName("2001:db8::1").getAddress());
    body.put(InetAddress.getByName("::1").getAddress());
    body.putShort((short) 40000).putShort((short) 443);
    write(v2(0x21, 0x21, body.array()));
    assertDecoded(new ProxiedAddresses(address("2001:db8::1", 40000), address("::1", 443)), "");
  }

  @Test
  void decode_v2Local_keepsTheConnectionsAddresses() {
    write(concat(v2(0x20, 0x00, new byte[0]), "x".getBytes(US_ASCII)));
    assertDecoded(ProxiedAddresses.LOCAL, "x");
  }

  @Test
  void decode_v1SplitByteByByte_firesOnceComplete() throws Exception {
    byte[] all = "PROXY TCP4 127.1.2.3 127.0.0.11 1234 443\r\nEND".getBytes(US_ASCII);
    int headerEnd = all.length - 3;
    for (int i = 0; i < all.length; i++) {
      write(new byte[] {all[i]});
      if (i < headerEnd - 1) {
        assertEquals(List.of(), next.events, "after byte " + i);
        assertTrue(ch.isOpen(), "after byte " + i);
      }
    }
    assertDecoded(
        new ProxiedAddresses(address("127.1.2.3", 1234), address("127.0.0.11", 443)), "END");
  }

  @Test
  void decode_v2SplitAcrossReads_firesOnceComplete() throws Exception {
    byte[] body = {127, 1, 2, 3, 127, 0, 0, 11, 0x04, (byte) 0xD2, 0x01, (byte) 0xBB};
    byte[] all = concat(v2(0x21, 0x11, body), "END".getBytes(US_ASCII));
    write(java.util.Arrays.copyOfRange(all, 0, 5)); // inside the signature
    write(java.util.Arrays.copyOfRange(all, 5, 15)); // inside the fixed part
    write(java.util.Arrays.copyOfRange(all, 15, 20)); // inside the addresses
    assertEquals(List.of(), next.events);
    assertTrue(ch.isOpen());
    write(java.util.Arrays.copyOfRange(all, 20, all.length));
    assertDecoded(
        new ProxiedAddresses(address("127.1.2.3", 1234), address("127.0.0.11", 443)), "END");
  }

  @Test
  void decode_garbage_closesAndCounts() {
    write("GARBAGE GARBAGE GARBAGE\r\n".getBytes(US_ASCII));
    assertRefused();
  }

  @Test
  void decode_wrongFirstByte_closesAtOnce() {
    write(new byte[] {'G'});
    assertRefused();
  }

  @Test
  void decode_v1PrefixWrongWithinTheFirstBytes_closesBeforeTheLineEnds() {
    write("PROXX".getBytes(US_ASCII));
    assertRefused();
  }

  @Test
  void decode_v1TooLong_closesAndCounts() {
    byte[] line = new byte[ProxyProtocolDecoder.V1_MAX_LENGTH];
    java.util.Arrays.fill(line, (byte) 'A');
    System.arraycopy("PROXY TCP4 ".getBytes(US_ASCII), 0, line, 0, 11);
    write(line); // 107 bytes and no CRLF
    assertRefused();
  }

  @Test
  void decode_v1BadAddressOrPort_closesAndCounts() {
    write("PROXY TCP4 127.0.0 127.0.0.1 5555 80\r\n".getBytes(US_ASCII));
    assertRefused();
    tearDown();
    setUp();
    write("PROXY TCP4 127.0.0.7 127.0.0.1 70000 80\r\n".getBytes(US_ASCII));
    assertRefused();
    tearDown();
    setUp();
    write("PROXY TCP4 ::1 127.0.0.1 1 80\r\n".getBytes(US_ASCII));
    assertRefused();
  }

  @Test
  void decode_v1HostNames_refusedNeverResolved() {
    write("PROXY TCP4 localhost 127.0.0.1 5555 80\r\n".getBytes(US_ASCII));
    assertRefused();
    tearDown();
    setUp();
    write("PROXY TCP6 zz:zz ::1 5555 80\r\n".getBytes(US_ASCII));
    assertRefused();
  }

  @Test
  void decode_v2TooLong_closesOnTheLengthField() {
    byte[] fixed = new byte[16];
    System.arraycopy(SIGNATURE, 0, fixed, 0, 12);
    fixed[12] = 0x21;
    fixed[13] = 0x11;
    fixed[14] = (byte) 0xFF; // 65535 bytes follow: over the limit
    fixed[15] = (byte) 0xFF;
    write(fixed);
    assertRefused();
  }

  @Test
  void decode_v2BadVersionOrShortAddresses_closesAndCounts() {
    write(v2(0x31, 0x11, new byte[12]));
    assertRefused();
    tearDown();
    setUp();
    write(v2(0x21, 0x11, new byte[8])); // IPv4 needs 12 bytes of addresses
    assertRefused();
  }

  @Test
  void inputEndsInsideTheHeader_closesAndCounts() {
    write("PROXY TCP4 127.0".getBytes(US_ASCII));
    assertTrue(ch.isOpen());
    ch.pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
    assertRefused();
  }

  @Test
  void inputEndsBeforeAnyByte_closesWithoutCountingAnError() {
    ch.pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
    assertFalse(ch.isOpen());
    assertEquals(0, route.frontendCounters().snapshot().proxyHeaderErrors());
    assertEquals(0, route.frontendCounters().snapshot().refusals());
  }

  @Test
  void decode_v2UnixFamily_keepsTheConnectionsAddressesAndResolvesNothing() {
    byte[] paths = new byte[216]; // two 108-byte paths (section 2.2)
    byte[] name = "localhost".getBytes(US_ASCII);
    System.arraycopy(name, 0, paths, 0, name.length);
    System.arraycopy(name, 0, paths, 108, name.length);
    write(concat(v2(0x21, 0x31, paths), "x".getBytes(US_ASCII)));
    assertDecoded(ProxiedAddresses.LOCAL, "x");
  }

  @Test
  void decode_v2UnixFamilyShortBlock_stillLocal() {
    write(v2(0x21, 0x31, new byte[3])); // no paths to read: nothing is read from them anyway
    assertDecoded(ProxiedAddresses.LOCAL, "");
  }

  @Test
  void decode_v2UnknownFamily_refusedOnTheFixedPart() {
    byte[] header = v2(0x21, 0x41, new byte[200]); // family 4
    write(java.util.Arrays.copyOf(header, 16)); // the body is not awaited
    assertRefused();
  }

  @Test
  void decode_v2UnknownTransport_refused() {
    write(v2(0x21, 0x13, new byte[12])); // INET over transport 3
    assertRefused();
  }

  @Test
  void decode_v2LocalWithUnknownFamily_familyIgnored() {
    write(v2(0x20, 0xF5, new byte[7])); // section 2.2: LOCAL discards the block and its family
    assertDecoded(ProxiedAddresses.LOCAL, "");
  }

  /** Moves the channel's clock {@code nanos} on and runs what became due. */
  private void advance(long nanos) {
    ch.advanceTimeBy(nanos, TimeUnit.NANOSECONDS);
    ch.runScheduledPendingTasks();
  }

  private void assertTimedOut() {
    assertRefused();
    assertEquals(1, route.frontendCounters().snapshot().proxyHeaderTimeouts());
    assertEquals(1, route.ruleCounters().snapshot().proxyHeaderTimeouts());
  }

  @Test
  void deadline_partialV1Header_closedAtTheDeadlineAndCounted() {
    write("PROXY TCP4 1.2".getBytes(US_ASCII));
    advance(DEADLINE_NANOS - 1);
    assertTrue(ch.isOpen(), "open until the deadline");
    assertEquals(0, route.frontendCounters().snapshot().proxyHeaderTimeouts());
    advance(1);
    assertTimedOut();
  }

  @Test
  void deadline_partialV2Header_closedAtTheDeadlineAndCounted() {
    byte[] header = v2(0x21, 0x11, new byte[12]);
    write(java.util.Arrays.copyOfRange(header, 0, 14)); // the signature and half the fixed part
    advance(DEADLINE_NANOS / 2);
    write(java.util.Arrays.copyOfRange(header, 14, 20)); // bytes keep coming: the deadline stands
    advance(DEADLINE_NANOS / 2);
    assertTimedOut();
  }

  @Test
  void deadline_nothingSent_closedAtTheDeadlineAndCounted() {
    advance(DEADLINE_NANOS);
    assertTimedOut();
  }

  @Test
  void deadline_headerCompleteInTime_timerCancelledConnectionStaysOpen() throws Exception {
    advance(DEADLINE_NANOS - 1);
    write("PROXY TCP4 127.0.0.77 127.0.0.1 5555 80\r\n".getBytes(US_ASCII));
    advance(10 * DEADLINE_NANOS);
    assertDecoded(new ProxiedAddresses(address("127.0.0.77", 5555), address("127.0.0.1", 80)), "");
    assertEquals(0, route.frontendCounters().snapshot().proxyHeaderTimeouts());
    assertEquals(0, route.frontendCounters().snapshot().refusals());
  }

  @Test
  void deadline_malformedHeader_countedOnceAsAnErrorNotAsATimeout() {
    write("GARBAGE".getBytes(US_ASCII));
    advance(10 * DEADLINE_NANOS);
    assertRefused();
    assertEquals(0, route.frontendCounters().snapshot().proxyHeaderTimeouts());
  }

  /** Records the events and copies and releases the bytes that reach it. */
  private static final class Recorder extends ChannelInboundHandlerAdapter {
    final List<Object> events = new ArrayList<>();
    final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      ByteBuf b = (ByteBuf) msg;
      try {
        byte[] copy = new byte[b.readableBytes()];
        b.readBytes(copy);
        bytes.writeBytes(copy);
      } finally {
        b.release();
      }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      if (evt instanceof ProxiedAddresses) {
        events.add(evt);
      }
    }
  }

  @Test
  void local_isOneSharedInstance() {
    write(v2(0x20, 0x00, new byte[0]));
    assertSame(ProxiedAddresses.LOCAL, next.events.get(0));
  }
}
