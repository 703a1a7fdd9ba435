package io.lb4j.netty;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.netty.buffer.AbstractByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.UnpooledDirectByteBuf;
import io.netty.buffer.UnpooledHeapByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * Seeded random input through {@link ProxyProtocolDecoder} on an {@link EmbeddedChannel}: no input
 * leaks a buffer, throws, or leaves the decoder undecided at its end.
 *
 * <p>Bounds: {@link #INPUTS} inputs of at most {@link ProxyProtocolDecoder#V2_MAX_LENGTH} + 64
 * bytes, each in 1-8 reads. Every buffer the channel allocates is recorded, and must be released
 * when the connection is done (checked by reference count, not left to the garbage collector); the
 * paranoid leak detector checks again at the end.
 */
class ProxyProtocolDecoderFuzzTest {
  private static final long SEED = 20_251_129L;
  private static final int INPUTS = 4000;
  private static final long DEADLINE_NANOS = TimeUnit.SECONDS.toNanos(5);

  private static final byte[] SIGNATURE = {
    0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A
  };

  @AfterAll
  static void noLeaks() {
    assertEquals(List.of(), LeakRecorder.collect(), "Netty reported leaked buffers");
  }

  @Test
  void decode_seededRandomInput_neverLeaksNeverThrowsAlwaysDecides() {
    SplittableRandom random = new SplittableRandom(SEED);
    int decoded = 0;
    int refused = 0;
    for (int i = 0; i < INPUTS; i++) {
      long inputSeed = random.nextLong();
      String tag = "seed " + SEED + ", input " + i + " (input seed " + inputSeed + ")";
      boolean wasDecoded;
      try {
        wasDecoded = runOne(new SplittableRandom(inputSeed), tag);
      } catch (RuntimeException | AssertionError e) {
        throw new AssertionError(tag + ": " + e, e);
      }
      if (wasDecoded) {
        decoded++;
      } else {
        refused++;
      }
    }
    // the generator must reach both ends, or the test proves little
    assertTrue(decoded > INPUTS / 20, "decoded " + decoded + " of " + INPUTS);
    assertTrue(refused > INPUTS / 20, "refused " + refused + " of " + INPUTS);
  }

  /** Runs one input; returns whether its header was decoded (else it was refused). */
  private static boolean runOne(SplittableRandom random, String tag) {
    TrackingAllocator alloc = new TrackingAllocator(random.nextBoolean());
    Route route = ProxyProtocolDecoderTest.route();
    Sink next = new Sink();
    EmbeddedChannel ch = new EmbeddedChannel();
    ch.config().setAllocator(alloc);
    ch.freezeTime();
    ch.pipeline().addLast("proxy-protocol", new ProxyProtocolDecoder(route, DEADLINE_NANOS));
    ch.pipeline().addLast("next", next);

    byte[] input = input(random);
    int pieces = random.nextInt(1, 9);
    int at = 0;
    for (int p = 0; p < pieces && at < input.length && ch.isOpen(); p++) {
      int end = p == pieces - 1 ? input.length : random.nextInt(at, input.length + 1);
      ByteBuf b = random.nextBoolean() ? alloc.directBuffer(end - at) : alloc.heapBuffer(end - at);
      ch.writeInbound(b.writeBytes(input, at, end - at));
      at = end;
    }
    // then the client ends its input, or goes quiet until the deadline
    if (ch.isOpen() && next.events == 0) {
      if (random.nextBoolean()) {
        ch.pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
      } else {
        ch.advanceTimeBy(DEADLINE_NANOS, TimeUnit.NANOSECONDS);
        ch.runScheduledPendingTasks();
      }
    }
    ch.checkException();
    boolean decoded = next.events > 0;
    Counters.Snapshot fe = route.frontendCounters().snapshot();
    if (decoded) {
      assertEquals(1, next.events, tag + ": one ProxiedAddresses event");
      assertTrue(ch.isOpen(), tag);
      assertEquals(null, ch.pipeline().get("proxy-protocol"), tag + ": the decoder left");
      assertEquals(0, fe.proxyHeaderErrors(), tag);
    } else {
      assertFalse(ch.isOpen(), tag + ": neither decoded nor closed");
      assertEquals(0, next.events, tag);
      assertEquals(0, next.bytes, tag + ": no byte passed on");
      assertTrue(fe.proxyHeaderErrors() <= 1, tag + ": counted once at most");
      assertEquals(fe.proxyHeaderErrors(), fe.refusals(), tag);
    }
    ch.finishAndReleaseAll();
    for (ByteBuf b : alloc.allocated) {
      if (b.refCnt() != 0) {
        fail(tag + ": a buffer of " + b.capacity() + " bytes was not released");
      }
    }
    return decoded;
  }

  /** A v1 or v2 header, valid, mutated, cut or oversized, or plain noise, then some data. */
  private static byte[] input(SplittableRandom random) {
    ByteBuffer out = ByteBuffer.allocate(ProxyProtocolDecoder.V2_MAX_LENGTH + 64);
    switch (random.nextInt(5)) {
      case 0: // a v1 line, valid or not
        String[] lines = {
          "PROXY TCP4 127.1.2.3 127.0.0.11 1234 443\r\n",
          "PROXY TCP6 2001:db8::1 ::1 65535 0\r\n",
          "PROXY UNKNOWN\r\n",
          "PROXY TCP4 1.2",
          "PROXY TCP4 localhost 127.0.0.1 1 2\r\n",
          "PROXY TCP6 zz:zz ::1 1 2\r\n",
        };
        out.put(lines[random.nextInt(lines.length)].getBytes(US_ASCII));
        break;
      case 1: // a v2 header with random fields, a random declared length and random TLV bytes
        out.put(SIGNATURE);
        out.put((byte) (random.nextBoolean() ? 0x21 : random.nextInt(256)));
        out.put((byte) (random.nextBoolean() ? 0x11 : random.nextInt(256)));
        int declared =
            random.nextBoolean()
                ? random.nextInt(ProxyProtocolDecoder.V2_MAX_LENGTH - 16 + 1)
                : random.nextInt(65536);
        out.putShort((short) declared);
        int body = Math.min(out.remaining() - 16, random.nextInt(declared + 17));
        byte[] bytes = new byte[body];
        random.nextBytes(bytes);
        out.put(bytes);
        break;
      case 2: // noise
        byte[] noise = new byte[random.nextInt(1, 200)];
        random.nextBytes(noise);
        out.put(noise);
        break;
      case 3: // a valid v2 IPv4 header with one random byte changed
        byte[] v2 = validV2();
        v2[random.nextInt(v2.length)] = (byte) random.nextInt(256);
        out.put(v2);
        break;
      default: // a prefix of a valid header
        byte[] whole =
            random.nextBoolean()
                ? validV2()
                : "PROXY TCP4 127.1.2.3 127.0.0.11 1234 443\r\n".getBytes(US_ASCII);
        out.put(whole, 0, random.nextInt(1, whole.length + 1));
    }
    int data = Math.min(out.remaining(), random.nextInt(0, 64));
    for (int i = 0; i < data; i++) {
      out.put((byte) 'd');
    }
    byte[] result = new byte[out.position()];
    out.flip().get(result);
    return result;
  }

  private static byte[] validV2() {
    ByteBuffer b = ByteBuffer.allocate(16 + 12 + 5);
    b.put(SIGNATURE).put((byte) 0x21).put((byte) 0x11).putShort((short) (12 + 5));
    b.put(new byte[] {127, 1, 2, 3, 127, 0, 0, 11, 0x04, (byte) 0xD2, 0x01, (byte) 0xBB});
    b.put(new byte[] {0x04, 0, 2, 1, 2}); // a NOOP TLV
    return b.array();
  }

  /** Counts the events and bytes that reach it, and releases every buffer. */
  private static final class Sink extends ChannelInboundHandlerAdapter {
    int events;
    long bytes;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      ByteBuf b = (ByteBuf) msg;
      bytes += b.readableBytes();
      b.release();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      if (evt instanceof ProxiedAddresses) {
        events++;
      }
    }
  }

  /** Unpooled buffers, each one recorded so that a test can check it was released. */
  private static final class TrackingAllocator extends AbstractByteBufAllocator {
    final List<ByteBuf> allocated = new ArrayList<>();

    TrackingAllocator(boolean preferDirect) {
      super(preferDirect);
    }

    @Override
    protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
      ByteBuf b = new UnpooledHeapByteBuf(this, initialCapacity, maxCapacity);
      allocated.add(b);
      return b;
    }

    @Override
    protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
      ByteBuf b = new UnpooledDirectByteBuf(this, initialCapacity, maxCapacity);
      allocated.add(b);
      return b;
    }

    @Override
    public boolean isDirectBufferPooled() {
      return false;
    }
  }
}
