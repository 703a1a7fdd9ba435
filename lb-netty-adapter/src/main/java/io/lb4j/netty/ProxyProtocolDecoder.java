package io.lb4j.netty;

import static java.nio.charset.StandardCharsets.US_ASCII;

import io.lb4j.Durations;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.util.NetUtil;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads the PROXY protocol header that an upstream balancer puts before a client's bytes (version 1
 * text or version 2 binary, HAProxy's {@code proxy-protocol.txt}), hands the addresses it carries
 * to the next handler as a {@link ProxiedAddresses} user event, and removes itself from the
 * pipeline: the bytes that followed the header go on as an ordinary read, and no later read passes
 * through this handler.
 *
 * <p>A {@code LOCAL} command (v2), an {@code UNKNOWN} protocol (v1), and the {@code UNSPEC} and
 * {@code UNIX} families (v2) hand on {@link ProxiedAddresses#LOCAL}: the connection's own addresses
 * stand, as the specification asks. A {@code UNIX} block's two paths are skipped unread: nothing in
 * a header is ever resolved; addresses are built from the header's bytes or strict literals. A
 * {@code PROXY} command with another family (4-15) or transport (3-15) is refused as soon as the
 * fixed part arrives (section 2.2: such values "must be rejected as invalid by receivers").
 *
 * <p>The header has a deadline: a connection whose header is not complete {@code deadlineNanos}
 * after this handler was added (at accept) is closed, counted as a refusal, a PROXY header error
 * and a PROXY header timeout, and logged at debug level. The timer is cancelled when the header is
 * complete or the connection closes, so a served connection keeps only the rule's idle timeout.
 *
 * <p>A malformed header, one longer than {@link #V1_MAX_LENGTH} (v1) or {@link #V2_MAX_LENGTH}
 * (v2), or the client's end of input in the middle of a header closes the connection: it is counted
 * as a refusal and a PROXY header error of the frontend and the rule, and logged at debug level
 * (one line per connection, so a flood of bad headers does not flood the log at the default level).
 * Bytes are checked as they arrive, so garbage is refused at its first wrong byte; a client that
 * ends its input before sending anything is closed without counting an error (a TCP health check of
 * the upstream balancer). Every buffer is released: {@link ByteToMessageDecoder} owns the
 * accumulated bytes and releases them when the channel closes or hands them on when this handler is
 * removed.
 *
 * <p>Not thread-safe; confined to the connection's event loop.
 */
final class ProxyProtocolDecoder extends ByteToMessageDecoder {
  private static final Logger logger = LoggerFactory.getLogger(ProxyProtocolDecoder.class);

  /** The longest v1 header, CRLF included (proxy-protocol.txt, section 2.1: 107 bytes). */
  static final int V1_MAX_LENGTH = 107;

  /**
   * The longest v2 header accepted, the 16 fixed bytes included: HAProxy reads the header from one
   * buffer of {@code tune.bufsize}, 16384 bytes by default, so no sender relies on more.
   */
  static final int V2_MAX_LENGTH = 16384;

  private static final byte[] V1_PREFIX = "PROXY ".getBytes(US_ASCII);

  /** The v2 signature (section 2.2). */
  private static final byte[] V2_SIGNATURE = {
    0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A
  };

  /** Signature, version and command, family and transport, length (section 2.2). */
  private static final int V2_FIXED_LENGTH = 16;

  private static final int V2_VERSION = 2;
  private static final int V2_LOCAL = 0;
  private static final int V2_PROXY = 1;
  private static final int AF_UNSPEC = 0;
  private static final int AF_INET = 1;
  private static final int AF_INET6 = 2;
  private static final int AF_UNIX = 3;
  private static final int TRANSPORT_DGRAM = 2;

  /** Source and destination address and port: 4 + 4 + 2 + 2 for IPv4, 16 + 16 + 2 + 2 for IPv6. */
  private static final int INET_BLOCK = 12;

  private static final int INET6_BLOCK = 36;

  private final Route route;
  private final long deadlineNanos;
  private boolean failed;
  private Future<?> deadline;

  /**
   * Reads the header of a connection of {@code route}, closing the connection unless the header is
   * complete within {@code deadlineNanos}.
   */
  ProxyProtocolDecoder(Route route, long deadlineNanos) {
    this.route = route;
    this.deadlineNanos = deadlineNanos;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    // once per connection, off the read path; the decoder is only ever added before a header
    deadline = ctx.executor().schedule(() -> expire(ctx), deadlineNanos, TimeUnit.NANOSECONDS);
  }

  @Override
  protected void handlerRemoved0(ChannelHandlerContext ctx) {
    cancelDeadline(); // the header was read: the rule's idle timeout takes over
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    cancelDeadline();
    super.channelInactive(ctx);
  }

  private void cancelDeadline() {
    if (deadline != null) {
      deadline.cancel(false);
      deadline = null;
    }
  }

  /** The deadline passed: close unless the header was read or the connection already closes. */
  private void expire(ChannelHandlerContext ctx) {
    deadline = null;
    if (failed || ctx.isRemoved() || !ctx.channel().isOpen()) {
      return;
    }
    failed = true; // what still arrives before the close is dropped, and released by the decoder
    route.frontendCounters().proxyHeaderTimeouts.increment();
    route.ruleCounters().proxyHeaderTimeouts.increment();
    count();
    record(
        ctx,
        RefusalReason.PROXY_HEADER_TIMEOUT,
        "no complete header within "
            + Durations.format(route.frontendOptions().proxyProtocolTimeout()));
    if (logger.isDebugEnabled()) {
      logger.debug(
          "closing {} on {}: no complete PROXY header within {} ms",
          ctx.channel().remoteAddress(),
          route.frontend(),
          TimeUnit.NANOSECONDS.toMillis(deadlineNanos));
    }
    ctx.close();
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    if (failed) {
      in.skipBytes(in.readableBytes()); // the connection is closing: drop, the decoder releases
      return;
    }
    if (!in.isReadable()) {
      return;
    }
    ProxiedAddresses addresses;
    try {
      addresses = in.getByte(in.readerIndex()) == 'P' ? decodeV1(in) : decodeV2(in);
    } catch (MalformedHeaderException e) {
      fail(ctx, in, e.getMessage());
      return;
    }
    if (addresses != null) {
      ctx.fireUserEventTriggered(addresses); // first: the frontend admits before any byte
      ctx.pipeline().remove(this); // hands on what followed the header as a read
    }
  }

  @Override
  protected void decodeLast(ChannelHandlerContext ctx, ByteBuf in, List<Object> out)
      throws Exception {
    // the client's input ended (FIN or close) while the header was still awaited
    boolean sentSomething = in.isReadable();
    super.decodeLast(ctx, in, out);
    if (failed || ctx.isRemoved()) {
      return;
    }
    if (sentSomething) {
      fail(ctx, in, "input ended before the header was complete");
    } else {
      logger.debug("closing {}: input ended before a PROXY header", ctx.channel().remoteAddress());
      ctx.close();
    }
  }

  private void fail(ChannelHandlerContext ctx, ByteBuf in, String why) {
    failed = true;
    cancelDeadline();
    in.skipBytes(in.readableBytes());
    count();
    record(ctx, RefusalReason.PROXY_HEADER_ERROR, why);
    if (logger.isDebugEnabled()) {
      logger.debug(
          "closing {} on {}: malformed PROXY header: {}",
          ctx.channel().remoteAddress(),
          route.frontend(),
          why);
    }
    ctx.close();
  }

  private void record(ChannelHandlerContext ctx, RefusalReason reason, String match) {
    if (ctx.channel().remoteAddress() instanceof InetSocketAddress a && a.getAddress() != null) {
      route.refusals().record(reason, a.getAddress(), match);
    }
    ctx.fireUserEventTriggered(new HeaderRefused(reason, match)); // for the connection log
  }

  private void count() {
    route.frontendCounters().refusals.increment();
    route.frontendCounters().proxyHeaderErrors.increment();
    route.ruleCounters().refusals.increment();
    route.ruleCounters().proxyHeaderErrors.increment();
  }

  // ---------------------------------------------------------------- version 1

  /** Returns the addresses of a complete v1 header, or null when more bytes are needed. */
  private static ProxiedAddresses decodeV1(ByteBuf in) throws MalformedHeaderException {
    int start = in.readerIndex();
    int n = in.readableBytes();
    expectPrefix(in, V1_PREFIX, "v1 header: does not start with 'PROXY '");
    int end = in.indexOf(start, start + Math.min(n, V1_MAX_LENGTH), (byte) '\n');
    if (end < 0) {
      if (n >= V1_MAX_LENGTH) {
        throw new MalformedHeaderException(
            "v1 header: no CRLF in " + V1_MAX_LENGTH + " bytes (expected: at most 107 bytes)");
      }
      return null;
    }
    if (end == start || in.getByte(end - 1) != '\r') {
      throw new MalformedHeaderException("v1 header: line ends in LF (expected: CRLF)");
    }
    String line = in.toString(start, end - 1 - start, US_ASCII);
    in.readerIndex(end + 1);
    return parseV1(line);
  }

  /** Parses {@code PROXY TCP4 src dst sport dport} or {@code PROXY UNKNOWN ...}. */
  static ProxiedAddresses parseV1(String line) throws MalformedHeaderException {
    String[] f = line.split(" ", -1);
    if (f.length >= 2 && f[1].equals("UNKNOWN")) {
      return ProxiedAddresses.LOCAL; // section 2.1: the rest is ignored
    }
    if (f.length != 6) {
      throw new MalformedHeaderException(
          "v1 header: '" + line + "' (expected: PROXY TCP4|TCP6 src dst sport dport)");
    }
    int length;
    if (f[1].equals("TCP4")) {
      length = 4;
    } else if (f[1].equals("TCP6")) {
      length = 16;
    } else {
      throw new MalformedHeaderException(
          "v1 header: protocol '" + f[1] + "' (expected: TCP4, TCP6 or UNKNOWN)");
    }
    return new ProxiedAddresses(
        new InetSocketAddress(address(f[2], length), port(f[4])),
        new InetSocketAddress(address(f[3], length), port(f[5])));
  }

  private static InetAddress address(String text, int length) throws MalformedHeaderException {
    boolean valid =
        length == 4 ? NetUtil.isValidIpV4Address(text) : NetUtil.isValidIpV6Address(text);
    byte[] bytes = valid ? NetUtil.createByteArrayFromIpAddressString(text) : null;
    if (bytes == null || bytes.length != length) {
      throw new MalformedHeaderException(
          "v1 header: address '"
              + text
              + "' (expected: an "
              + (length == 4 ? "IPv4" : "IPv6")
              + " literal)");
    }
    return byAddress(bytes);
  }

  private static int port(String text) throws MalformedHeaderException {
    int port = 0;
    boolean valid = !text.isEmpty() && text.length() <= 5;
    for (int i = 0; valid && i < text.length(); i++) {
      char c = text.charAt(i);
      valid = c >= '0' && c <= '9';
      port = port * 10 + (c - '0');
    }
    if (!valid || port > 65535) {
      throw new MalformedHeaderException("v1 header: port '" + text + "' (expected: 0-65535)");
    }
    return port;
  }

  // ---------------------------------------------------------------- version 2

  /** Returns the addresses of a complete v2 header, or null when more bytes are needed. */
  private static ProxiedAddresses decodeV2(ByteBuf in) throws MalformedHeaderException {
    expectPrefix(
        in,
        V2_SIGNATURE,
        "neither a v1 header ('PROXY ...') nor the v2 signature (\\r\\n\\r\\n...)");
    int start = in.readerIndex();
    if (in.readableBytes() < V2_FIXED_LENGTH) {
      return null;
    }
    int versionCommand = in.getUnsignedByte(start + 12);
    int version = versionCommand >> 4;
    int command = versionCommand & 0x0F;
    if (version != V2_VERSION) {
      throw new MalformedHeaderException("v2 header: version " + version + " (expected: 2)");
    }
    if (command != V2_LOCAL && command != V2_PROXY) {
      throw new MalformedHeaderException(
          "v2 header: command " + command + " (expected: 0 LOCAL or 1 PROXY)");
    }
    int family = in.getUnsignedByte(start + 13) >> 4;
    int transport = in.getUnsignedByte(start + 13) & 0x0F;
    if (command == V2_PROXY && family > AF_UNIX) {
      // section 2.2: other values "must be rejected as invalid by receivers" (LOCAL ignores them)
      throw new MalformedHeaderException(
          "v2 header: address family "
              + family
              + " (expected: 0 UNSPEC, 1 INET, 2 INET6 or 3 UNIX)");
    }
    if (command == V2_PROXY && transport > TRANSPORT_DGRAM) {
      throw new MalformedHeaderException(
          "v2 header: transport " + transport + " (expected: 0 UNSPEC, 1 STREAM or 2 DGRAM)");
    }
    int length = in.getUnsignedShort(start + 14);
    if (V2_FIXED_LENGTH + length > V2_MAX_LENGTH) {
      throw new MalformedHeaderException(
          "v2 header: length "
              + length
              + " (expected: at most "
              + (V2_MAX_LENGTH - V2_FIXED_LENGTH)
              + ")");
    }
    if (in.readableBytes() < V2_FIXED_LENGTH + length) {
      return null;
    }
    int a = start + V2_FIXED_LENGTH;
    ProxiedAddresses out;
    if (command == V2_LOCAL || family == AF_UNSPEC || family == AF_UNIX) {
      // no IP address to take: a UNIX block holds two paths, skipped unread, never resolved
      out = ProxiedAddresses.LOCAL;
    } else if (family == AF_INET) {
      out = inet(in, a, length, 4, INET_BLOCK);
    } else {
      out = inet(in, a, length, 16, INET6_BLOCK);
    }
    in.readerIndex(start + V2_FIXED_LENGTH + length); // TLVs after the addresses are skipped
    return out;
  }

  private static ProxiedAddresses inet(ByteBuf in, int at, int length, int size, int block)
      throws MalformedHeaderException {
    if (length < block) {
      throw new MalformedHeaderException(
          "v2 header: length " + length + " (expected: at least " + block + " for its family)");
    }
    byte[] source = new byte[size];
    byte[] destination = new byte[size];
    in.getBytes(at, source);
    in.getBytes(at + size, destination);
    int sourcePort = in.getUnsignedShort(at + 2 * size);
    int destinationPort = in.getUnsignedShort(at + 2 * size + 2);
    return new ProxiedAddresses(
        new InetSocketAddress(byAddress(source), sourcePort),
        new InetSocketAddress(byAddress(destination), destinationPort));
  }

  // ---------------------------------------------------------------- both

  /** Fails unless the readable bytes, as many as there are, match the start of {@code prefix}. */
  private static void expectPrefix(ByteBuf in, byte[] prefix, String what)
      throws MalformedHeaderException {
    int start = in.readerIndex();
    int n = Math.min(in.readableBytes(), prefix.length);
    for (int i = 0; i < n; i++) {
      if (in.getByte(start + i) != prefix[i]) {
        throw new MalformedHeaderException(what);
      }
    }
  }

  private static InetAddress byAddress(byte[] bytes) {
    try {
      return InetAddress.getByAddress(bytes);
    } catch (UnknownHostException e) {
      throw new IllegalStateException("address of " + bytes.length + " bytes", e); // 4 or 16
    }
  }

  /** A header that does not follow the specification; the message says how. */
  static final class MalformedHeaderException extends Exception {
    private static final long serialVersionUID = 1L;

    MalformedHeaderException(String message) {
      super(message, null, false, false); // no stack trace: expected input, not a bug
    }
  }
}
