package io.lb4j.netty;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link ProxyProtocolDecoder} in a running proxy over real loopback sockets, on epoll, io_uring
 * and NIO (a transport that does not load here is skipped): the header deadline, hostile v2 headers
 * under paranoid leak detection, the AF_UNIX family. Every wait is bounded.
 */
class ProxyProtocolDecoderSocketTest {
  private static final int TIMEOUT_MS = 10_000;

  /** The deadline of these tests: short, so that a test waits for it without slowing the build. */
  private static final Duration DEADLINE = Duration.ofMillis(200);

  private static final long SEED = 16866; // netty#16866, the leak this shape found

  private static final byte[] SIGNATURE = {
    0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A
  };

  @AfterAll
  static void noLeaks() {
    assertEquals(List.of(), LeakRecorder.collect(), "Netty reported leaked buffers");
  }

  @AfterEach
  void defaultTransport() {
    ProxyFixture.transport = Transport.AUTO;
  }

  private static ProxyFixture fixture(Transport transport, TestServer.Mode mode, ProxyProtocol out)
      throws IOException {
    ProxyFixture.requireTransport(transport);
    ProxyFixture.transport = transport;
    FrontendOptions options =
        new FrontendOptions(true, 0, List.of(), List.of()).withProxyProtocolTimeout(DEADLINE);
    return new ProxyFixture(
        1,
        mode,
        r -> r,
        c -> c,
        p ->
            p.frontendOptions("fe", options)
                .ruleOptions("app", RuleOptions.DEFAULT.withProxyProtocol(out)));
  }

  private static Socket client(InetSocketAddress to, String bindHost) throws IOException {
    Socket s = new Socket();
    s.bind(new InetSocketAddress(InetAddress.getByAddress(literal(bindHost)), 0));
    s.setSoTimeout(TIMEOUT_MS);
    s.connect(to, TIMEOUT_MS);
    return s;
  }

  private static byte[] literal(String dottedQuad) {
    String[] p = dottedQuad.split("\\.");
    byte[] b = new byte[4];
    for (int i = 0; i < 4; i++) {
      b[i] = (byte) Integer.parseInt(p[i]);
    }
    return b;
  }

  /** Reads until the proxy closes; true for a FIN or a reset, false if it stayed open 10 s. */
  private static boolean closedByProxy(Socket s) throws IOException {
    InputStream in = s.getInputStream();
    try {
      while (in.read() >= 0) {
        // drain: the proxy sends nothing before a header, but a reader must not stop early
      }
      return true;
    } catch (java.net.SocketTimeoutException e) {
      return false;
    } catch (SocketException e) {
      return true; // reset
    }
  }

  /** Waits up to 5 s for {@code counter} to reach {@code expected}; returns what it saw. */
  private static long awaitCount(LongSupplier counter, long expected) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (counter.getAsLong() < expected && System.nanoTime() < deadline) {
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
    }
    return counter.getAsLong();
  }

  private static byte[] v2(int versionCommand, int familyTransport, byte[] body) {
    ByteBuffer b = ByteBuffer.allocate(16 + body.length);
    b.put(SIGNATURE).put((byte) versionCommand).put((byte) familyTransport);
    b.putShort((short) body.length).put(body);
    return b.array();
  }

  @ParameterizedTest
  @EnumSource(names = {"EPOLL", "IO_URING", "NIO"})
  void deadline_partialHeaders_closedAtTheDeadlineAndCounted(Transport transport) throws Exception {
    byte[] partialV2 = java.util.Arrays.copyOf(v2(0x21, 0x11, new byte[12]), 14);
    List<byte[]> partials =
        List.of("PROXY TCP4 1.2".getBytes(US_ASCII), partialV2, new byte[0] /* nothing */);
    int perShape = 10;
    try (ProxyFixture f = fixture(transport, TestServer.Mode.ECHO, ProxyProtocol.NONE);
        Socket good = client(f.frontend, "127.0.0.9")) {
      // a served connection, older than every partial one: its deadline passes while they wait
      OutputStream goodOut = good.getOutputStream();
      goodOut.write("PROXY TCP4 127.0.0.77 127.0.0.1 5555 80\r\nping\n".getBytes(US_ASCII));
      assertEquals("ping", TestServer.readLine(good.getInputStream()));

      long start = System.nanoTime();
      List<Socket> bad = new ArrayList<>();
      try {
        for (byte[] partial : partials) {
          for (int i = 0; i < perShape; i++) {
            Socket s = client(f.frontend, "127.0.0.9");
            bad.add(s);
            s.getOutputStream().write(partial);
          }
        }
        for (Socket s : bad) {
          assertTrue(closedByProxy(s), "a partial header's connection was closed");
        }
      } finally {
        for (Socket s : bad) {
          s.close();
        }
      }
      long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
      assertTrue(elapsedMs >= DEADLINE.toMillis(), "closed after " + elapsedMs + " ms, too early");

      int n = partials.size() * perShape;
      assertEquals(n, awaitCount(() -> f.proxy.frontendCounters("fe").proxyHeaderTimeouts(), n));
      Counters.Snapshot fe = f.proxy.frontendCounters("fe");
      assertEquals(n, fe.proxyHeaderErrors());
      assertEquals(n, fe.refusals());
      assertEquals(n, f.proxy.ruleCounters("app").proxyHeaderTimeouts());

      // the served connection outlived its deadline: its timer was cancelled with the header
      goodOut.write("pong\n".getBytes(US_ASCII));
      assertEquals("pong", TestServer.readLine(good.getInputStream()));
      assertEquals(n, f.proxy.frontendCounters("fe").proxyHeaderTimeouts());
    }
  }

  /**
   * The shape that leaked Netty's v2 decoder buffer (netty#16866): a v2 header with a large
   * declared length and random TLV bytes after the addresses, at once and in pieces, complete and
   * cut short, within the length limit and over it, on many connections.
   */
  @ParameterizedTest
  @EnumSource(names = {"EPOLL", "IO_URING", "NIO"})
  void leakShape_largeV2HeadersWithRandomTlvs_nothingLeaks(Transport transport) throws Exception {
    SplittableRandom random = new SplittableRandom(SEED);
    int connections = 64;
    try (ProxyFixture f = fixture(transport, TestServer.Mode.ECHO, ProxyProtocol.NONE)) {
      int served = 0;
      for (int c = 0; c < connections; c++) {
        int kind = c % 4; // 0 complete at once, 1 complete in pieces, 2 cut short, 3 over the limit
        int declared =
            kind == 3
                ? ProxyProtocolDecoder.V2_MAX_LENGTH + random.nextInt(1, 65535 - 16384)
                : random.nextInt(12, ProxyProtocolDecoder.V2_MAX_LENGTH - 16 + 1);
        byte[] body = new byte[kind == 3 ? 12 : declared];
        random.nextBytes(body);
        body[0] = 127; // source 127.x.x.x: addresses that pass any check; the rest is TLV noise
        ByteBuffer header = ByteBuffer.allocate(16 + body.length);
        header.put(SIGNATURE).put((byte) 0x21).put((byte) 0x11).putShort((short) declared);
        header.put(body);
        byte[] all = header.array();
        int send = kind == 2 ? random.nextInt(17, all.length) : all.length;
        String tag = "seed " + SEED + ", connection " + c + ", kind " + kind;
        try (Socket s = client(f.frontend, "127.0.0.9")) {
          OutputStream out = s.getOutputStream();
          if (kind == 1) {
            for (int at = 0; at < send; ) {
              int piece = Math.min(send - at, random.nextInt(1, 4096));
              out.write(all, at, piece);
              out.flush();
              at += piece;
            }
          } else {
            out.write(all, 0, send);
          }
          if (kind <= 1) {
            out.write("ping\n".getBytes(US_ASCII));
            assertEquals("ping", TestServer.readLine(s.getInputStream()), tag);
            served++;
          } else {
            if (kind == 2) {
              s.shutdownOutput(); // cut short: the input ends inside the header
            } // kind 3: the proxy closes on the length field, before the body
            assertTrue(closedByProxy(s), tag);
          }
        }
      }
      int refused = connections - served;
      assertEquals(
          refused, awaitCount(() -> f.proxy.frontendCounters("fe").proxyHeaderErrors(), refused));
    }
    assertEquals(List.of(), LeakRecorder.collect(), "seed " + SEED + ": leaked buffers");
  }

  /**
   * An AF_UNIX v2 header (proxy-protocol.txt 2.2: 108-byte paths) carries no IP address: the
   * connection's own peer address stands (LOCAL semantics), and the paths, one of them a name that
   * would resolve, are never looked up.
   */
  @ParameterizedTest
  @EnumSource(names = {"EPOLL", "IO_URING", "NIO"})
  void afUnixHeader_realPeerAddressStandsNothingResolved(Transport transport) throws Exception {
    byte[] paths = new byte[216];
    byte[] source = "localhost".getBytes(US_ASCII);
    byte[] destination = "lb4j-should-not-resolve.example".getBytes(US_ASCII);
    System.arraycopy(source, 0, paths, 0, source.length);
    System.arraycopy(destination, 0, paths, 108, destination.length);
    try (ProxyFixture f = fixture(transport, TestServer.Mode.RECORD, ProxyProtocol.V1);
        Socket s = client(f.frontend, "127.0.0.9")) {
      OutputStream out = s.getOutputStream();
      out.write(v2(0x21, 0x31, paths)); // PROXY, AF_UNIX over STREAM
      out.write("END".getBytes(US_ASCII));
      assertEquals("ok", TestServer.readLine(s.getInputStream()));
      String expected =
          "PROXY TCP4 127.0.0.9 127.0.0.1 " + s.getLocalPort() + " " + f.frontend.getPort();
      assertEquals(
          expected + "\r\nEND",
          new String(f.servers.get(0).recorded.poll(5, TimeUnit.SECONDS), US_ASCII));
      assertEquals(0, f.proxy.frontendCounters("fe").proxyHeaderErrors());
    }
  }
}
