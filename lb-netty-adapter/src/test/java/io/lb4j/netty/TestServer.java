package io.lb4j.netty;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A blocking TCP server on a loopback address for proxy tests, one daemon thread per connection:
 * echo (after an optional greeting naming the server), record the first bytes, or hold (accept and
 * read nothing until released).
 */
public final class TestServer implements AutoCloseable {
  public enum Mode {
    ECHO,
    GREET_THEN_ECHO,
    RECORD,
    HOLD,
    /** Sends its id and a FIN first, then records what the client sends until the client's FIN. */
    GREET_SHUT_THEN_RECORD,
    /**
     * Once {@link #release}d, sends {@link #BULK} bytes ({@link #pattern}) and a FIN, adds "fin" to
     * {@link #closes}, then records what the client sends until the client's FIN.
     */
    BULK_SHUT_THEN_RECORD
  }

  /** The size of a bulk transfer in the BULK modes: 64 KiB, the proxy's write high-water mark. */
  public static final int BULK = 64 << 10;

  /** The byte at {@code i} of a bulk transfer. */
  public static byte pattern(int i) {
    return (byte) (i % 251);
  }

  public final String id;
  public final InetSocketAddress address;
  public final AtomicInteger accepted = new AtomicInteger();
  public final BlockingQueue<byte[]> recorded = new LinkedBlockingQueue<>();
  public final BlockingQueue<String> closes = new LinkedBlockingQueue<>();
  private final ServerSocket server;
  private final Mode mode;
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();
  private final Thread acceptor;
  public final CountDownLatch release = new CountDownLatch(1);

  public TestServer(String id, String host, Mode mode) throws IOException {
    this(id, mode, new ServerSocket(0, 200, InetAddress.getByName(host)));
  }

  /** A server on {@code host:port}: a killed server's port, to restart it. */
  public TestServer(String id, String host, int port, Mode mode) throws IOException {
    this(id, mode, new ServerSocket(port, 200, InetAddress.getByName(host)));
  }

  private TestServer(String id, Mode mode, ServerSocket server) {
    this.id = id;
    this.mode = mode;
    this.server = server;
    this.address = new InetSocketAddress(server.getInetAddress(), server.getLocalPort());
    acceptor = new Thread(this::acceptLoop, "test-server-" + id);
    acceptor.setDaemon(true);
    acceptor.start();
  }

  private void acceptLoop() {
    while (!server.isClosed()) {
      try {
        Socket s = server.accept();
        accepted.incrementAndGet();
        sockets.add(s);
        Thread t = new Thread(() -> serve(s), "test-conn-" + id);
        t.setDaemon(true);
        t.start();
      } catch (IOException e) {
        return;
      }
    }
  }

  private void serve(Socket s) {
    try (s) {
      InputStream in = s.getInputStream();
      OutputStream out = s.getOutputStream();
      switch (mode) {
        case GREET_THEN_ECHO:
          out.write((id + "\n").getBytes(StandardCharsets.US_ASCII));
          out.flush();
          echo(in, out);
          break;
        case ECHO:
          echo(in, out);
          break;
        case RECORD:
          byte[] buf = new byte[256];
          int n = 0;
          int r;
          while (n < buf.length && (r = in.read(buf, n, buf.length - n)) > 0) {
            n += r;
            if (n >= 8 && new String(buf, 0, n, StandardCharsets.ISO_8859_1).contains("END")) {
              break;
            }
          }
          recorded.add(java.util.Arrays.copyOf(buf, n));
          out.write("ok\n".getBytes(StandardCharsets.US_ASCII));
          out.flush();
          break;
        case HOLD:
          release.await();
          break;
        case BULK_SHUT_THEN_RECORD:
          {
            release.await();
            byte[] bulk = new byte[BULK];
            for (int i = 0; i < BULK; i++) {
              bulk[i] = pattern(i);
            }
            out.write(bulk);
            out.flush();
            s.shutdownOutput();
            closes.add("fin");
            recorded.add(in.readAllBytes());
            break;
          }
        case GREET_SHUT_THEN_RECORD:
          out.write((id + "\n").getBytes(StandardCharsets.US_ASCII));
          out.flush();
          s.shutdownOutput();
          recorded.add(in.readAllBytes()); // every byte the client sends after the FIN
          break;
        default:
          throw new AssertionError(mode);
      }
      closes.add("closed");
    } catch (IOException e) {
      closes.add(e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void echo(InputStream in, OutputStream out) throws IOException {
    byte[] buf = new byte[16384];
    int n;
    while ((n = in.read(buf)) > 0) {
      out.write(buf, 0, n);
      out.flush();
    }
  }

  /**
   * Kills the server: stops listening and resets every connection. On return a connect to its
   * address is refused.
   *
   * <p>{@code ServerSocket.close()} alone does not promise that: while the accept thread is blocked
   * in {@code accept(2)} that call holds the listening socket, which stays in LISTEN, and the
   * kernel still completes handshakes, until the thread has woken from the close's signal and made
   * the last close; under CPU load, milliseconds. A connect in that window succeeds and is then
   * reset, or accepted and served: a proxy sees a backend accept a connection just after it was
   * killed. So wait for the accept thread to end, then reset every connection, the ones it accepted
   * in the window included.
   */
  public void kill() throws IOException {
    server.close();
    try {
      acceptor.join(10_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("waiting for " + id + "'s listener to close");
    }
    if (acceptor.isAlive()) {
      throw new IOException(id + ": the accept thread did not end within 10 s of the close");
    }
    for (Socket s : sockets) {
      try {
        s.setSoLinger(true, 0);
        s.close();
      } catch (IOException e) {
        // already gone
      }
    }
  }

  @Override
  public void close() throws IOException {
    release.countDown();
    kill();
  }

  /** Reads up to a newline or the end of the stream; returns what came before it. */
  public static String readLine(InputStream in) throws IOException {
    java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
    int c;
    while ((c = in.read()) >= 0 && c != '\n') {
      b.write(c);
    }
    return b.toString(StandardCharsets.US_ASCII);
  }

  /** Returns a port on {@code host} that was free a moment ago (bound to port 0, then closed). */
  public static int freePort(String host) throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName(host))) {
      return s.getLocalPort();
    }
  }
}
