package io.lb4j.core.health;

import io.lb4j.HealthProbe;
import io.lb4j.IpLiteral;
import io.lb4j.ProbeOutcome;
import io.lb4j.ProbeProtocol;
import io.lb4j.ProbeResult;
import io.lb4j.spi.HealthChecker;
import java.io.IOException;
import java.net.ConnectException;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.net.NoRouteToHostException;
import java.net.PortUnreachableException;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.List;
import java.util.PriorityQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Probes TCP, HTTP and HTTPS with non-blocking sockets on one I/O thread.
 *
 * <ul>
 *   <li><b>TCP</b>: passes when the three-way handshake completes; the connection is then closed
 *       normally, which sends FIN (never RST: nothing is left unread), as AWS NLB's check does.
 *   <li><b>HTTP</b>: sends {@code GET path HTTP/1.1} with {@code Host} (the probe's host name, or
 *       the target's address) and {@code Connection: close}; passes on an expected status. The
 *       status line decides; the rest of the response, up to {@link #MAX_DRAIN_BYTES}, is read and
 *       ignored so that the close is clean.
 *   <li><b>HTTPS</b>: the same over TLS, trusting any certificate and checking no host name, as the
 *       cloud balancers' probes do; SNI carries the probe's host name when it has one.
 * </ul>
 *
 * <p>Failures keep their diagnosis: refused (RST), timeout (nothing within the probe's timeout,
 * which covers connect, TLS and response), other network errors, unexpected status, malformed
 * response, early close, TLS failure.
 *
 * <p>Why one class of about 700 lines: the selector loop, the per-connection state machine
 * (connect, TLS handshake, request, status line, drain) and the deadline sweep share one thread and
 * one set of per-connection fields; split, each part would need the others' internals.
 *
 * <p>Thread-safe: {@link #check} may be called from any thread; the I/O runs on the checker's
 * thread, started on first use and stopped by {@link #close()}.
 */
public final class NioHealthChecker implements HealthChecker, AutoCloseable {
  private static final Logger logger = LoggerFactory.getLogger(NioHealthChecker.class);

  /** The most response bytes read before the status line must have been seen. */
  public static final int MAX_STATUS_LINE_BYTES = 8192;

  /** The most response bytes read and discarded after the status line before closing. */
  public static final int MAX_DRAIN_BYTES = 64 * 1024;

  private static final byte[] HTTP_PREFIX = "HTTP/".getBytes(StandardCharsets.US_ASCII);

  private final InstantSource clock;
  private final ConcurrentLinkedQueue<Probe> pending = new ConcurrentLinkedQueue<>();
  private final PriorityQueue<Probe> deadlines = new PriorityQueue<>();
  private final Object lifecycle = new Object();

  /** Whether a wake-up of the selector is already on its way: at most one per loop turn. */
  private final AtomicBoolean wakeupPending = new AtomicBoolean();

  private volatile SSLContext tls;
  private Selector selector;
  private Thread thread;
  private volatile boolean closed;

  /** Returns a checker that stamps results with the system clock. */
  public NioHealthChecker() {
    this(InstantSource.system());
  }

  /**
   * Returns a checker that stamps results with {@code clock}.
   *
   * @param clock the wall clock of result timestamps
   */
  public NioHealthChecker(InstantSource clock) {
    this.clock = clock;
  }

  @Override
  public CompletionStage<ProbeResult> check(InetSocketAddress target, HealthProbe probe) {
    Probe p = new Probe(target, probe, clock.instant(), System.nanoTime());
    if (closed) {
      return CompletableFuture.completedFuture(
          p.result(ProbeOutcome.NETWORK_ERROR, "health checker closed"));
    }
    try {
      ensureStarted();
    } catch (IOException e) {
      return CompletableFuture.completedFuture(
          p.result(ProbeOutcome.NETWORK_ERROR, "cannot open selector: " + e.getMessage()));
    }
    pending.add(p);
    if (wakeupPending.compareAndSet(false, true)) {
      selector.wakeup();
    }
    return p.future;
  }

  /** Stops the I/O thread; probes in flight complete as network errors. */
  @Override
  public void close() {
    synchronized (lifecycle) {
      closed = true;
      if (selector != null) {
        selector.wakeup();
      }
    }
  }

  private void ensureStarted() throws IOException {
    synchronized (lifecycle) {
      if (thread == null) {
        selector = Selector.open();
        thread = new Thread(this::loop, "lb4j-probe-io");
        thread.setDaemon(true);
        thread.start();
      }
    }
  }

  private void loop() {
    try {
      while (!closed) {
        Probe p;
        while ((p = pending.poll()) != null) {
          begin(p);
        }
        long now = System.nanoTime();
        expire(now);
        Probe first = deadlines.peek();
        long waitMillis =
            first == null ? 0 : Math.max(1, (first.deadline - now + 999_999) / 1_000_000);
        if (pending.isEmpty()) {
          selector.select(waitMillis);
        } else {
          selector.selectNow();
        }
        wakeupPending.set(false); // probes queued from here on wake the next select
        for (SelectionKey key : selector.selectedKeys()) {
          Probe probe = (Probe) key.attachment();
          if (key.isValid()) {
            probe.ready(key);
          }
        }
        selector.selectedKeys().clear();
      }
    } catch (IOException | ClosedSelectorException e) {
      logger.error("health checker I/O loop failed; probes will report network errors", e);
    } catch (RuntimeException e) {
      logger.error("health checker I/O loop failed; probes will report network errors", e);
    } finally {
      closed = true;
      for (SelectionKey key : selector.keys()) {
        ((Probe) key.attachment()).finish(ProbeOutcome.NETWORK_ERROR, "health checker closed");
      }
      Probe p;
      while ((p = pending.poll()) != null) {
        p.finish(ProbeOutcome.NETWORK_ERROR, "health checker closed");
      }
      try {
        selector.close();
      } catch (IOException e) {
        logger.debug("closing the selector", e);
      }
    }
  }

  private void expire(long now) {
    Probe p;
    while ((p = deadlines.peek()) != null && p.deadline <= now) {
      deadlines.poll();
      p.expire();
    }
  }

  private void begin(Probe p) {
    try {
      p.channel = SocketChannel.open();
      p.channel.configureBlocking(false);
      if (p.probe.protocol() != ProbeProtocol.TCP) {
        p.channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
      }
      p.deadline = p.startNanos + p.probe.timeout().toNanos();
      deadlines.add(p);
      p.key = p.channel.register(selector, 0, p);
      if (p.channel.connect(p.target)) {
        p.connected();
      } else {
        p.key.interestOps(SelectionKey.OP_CONNECT);
      }
    } catch (IOException e) {
      p.connectFailed(e);
    }
  }

  private SSLContext tls() throws GeneralSecurityException {
    SSLContext c = tls;
    if (c == null) {
      c = SSLContext.getInstance("TLS");
      c.init(null, new TrustManager[] {new TrustAll()}, null);
      tls = c;
    }
    return c;
  }

  /** One probe in flight: its socket, buffers and state, touched only by the I/O thread. */
  private final class Probe implements Comparable<Probe> {
    final InetSocketAddress target;
    final HealthProbe probe;
    final Instant startTime;
    final long startNanos;
    final CompletableFuture<ProbeResult> future = new CompletableFuture<>();
    SocketChannel channel;
    SelectionKey key;
    long deadline;
    boolean done;

    // HTTP(S)
    ByteBuffer request;
    ByteBuffer response; // bytes up to the status line
    ByteBuffer sink; // the rest, read and discarded
    ProbeOutcome verdict;
    String verdictDetail;
    long verdictNanos;
    int drained;

    // HTTPS
    SSLEngine engine;
    ByteBuffer netIn;
    ByteBuffer netOut;
    boolean handshaken;

    Probe(InetSocketAddress target, HealthProbe probe, Instant startTime, long startNanos) {
      this.target = target;
      this.probe = probe;
      this.startTime = startTime;
      this.startNanos = startNanos;
    }

    ProbeResult result(ProbeOutcome outcome, String detail) {
      return result(outcome, detail, System.nanoTime());
    }

    ProbeResult result(ProbeOutcome outcome, String detail, long atNanos) {
      return new ProbeResult(
          startTime, outcome, Duration.ofNanos(Math.max(0, atNanos - startNanos)), detail);
    }

    @Override
    public int compareTo(Probe o) {
      return Long.compare(deadline, o.deadline);
    }

    void ready(SelectionKey k) {
      try {
        if (k.isConnectable()) {
          channel.finishConnect();
          connected();
          return;
        }
        if (engine != null && !handshaken) {
          handshake();
          return;
        }
        if (k.isWritable()) {
          writeRequest();
        }
        if (k.isValid() && k.isReadable()) {
          readResponse();
        }
      } catch (ConnectException e) {
        connectFailed(e);
      } catch (SSLException e) {
        finish(ProbeOutcome.TLS_ERROR, "TLS: " + e.getMessage());
      } catch (IOException e) {
        ioFailed(e);
      }
    }

    void connected() throws IOException {
      if (probe.protocol() == ProbeProtocol.TCP) {
        finish(ProbeOutcome.SUCCESS, "connected");
        return;
      }
      request = ByteBuffer.wrap(httpRequest().getBytes(StandardCharsets.US_ASCII));
      if (probe.protocol() == ProbeProtocol.HTTPS) {
        try {
          engine = tls().createSSLEngine(hostName(), target.getPort());
        } catch (GeneralSecurityException e) {
          finish(ProbeOutcome.TLS_ERROR, "TLS: " + e.getMessage());
          return;
        }
        engine.setUseClientMode(true);
        if (probe.host() != null) {
          SSLParameters params = engine.getSSLParameters();
          params.setServerNames(List.of(new SNIHostName(probe.host())));
          engine.setSSLParameters(params);
        }
        int packet = engine.getSession().getPacketBufferSize();
        int app = engine.getSession().getApplicationBufferSize();
        netIn = ByteBuffer.allocate(packet);
        netOut = ByteBuffer.allocate(packet);
        netOut.flip();
        // unwrap needs room for a whole record's plaintext
        response = ByteBuffer.allocate(Math.max(MAX_STATUS_LINE_BYTES, app));
        sink = ByteBuffer.allocate(app);
        engine.beginHandshake();
        handshake();
      } else {
        response = ByteBuffer.allocate(MAX_STATUS_LINE_BYTES);
        sink = ByteBuffer.allocate(4096);
        key.interestOps(SelectionKey.OP_WRITE);
        writeRequest();
      }
    }

    private String hostName() {
      if (probe.host() != null) {
        return probe.host();
      }
      String ip = IpLiteral.format(target.getAddress());
      return target.getAddress() instanceof Inet6Address ? "[" + ip + "]" : ip;
    }

    private String httpRequest() {
      int port = target.getPort();
      boolean defaultPort =
          (probe.protocol() == ProbeProtocol.HTTP && port == 80)
              || (probe.protocol() == ProbeProtocol.HTTPS && port == 443);
      return "GET "
          + probe.path()
          + " HTTP/1.1\r\nHost: "
          + hostName()
          + (defaultPort ? "" : ":" + port)
          + "\r\nUser-Agent: lb4j-health-probe\r\nAccept: */*\r\nConnection: close\r\n\r\n";
    }

    // ---- plain HTTP

    void writeRequest() throws IOException {
      if (engine != null) {
        wrapAndWrite(request);
        return;
      }
      channel.write(request);
      key.interestOps(request.hasRemaining() ? SelectionKey.OP_WRITE : SelectionKey.OP_READ);
    }

    void readResponse() throws IOException {
      if (engine != null) {
        readTls();
        return;
      }
      ByteBuffer into = verdict == null ? response : sink;
      int n = channel.read(into);
      if (n < 0) {
        endOfStream();
        return;
      }
      if (verdict == null) {
        parseStatus();
      } else {
        drained += n;
        into.clear();
        if (drained > MAX_DRAIN_BYTES) {
          finish(verdict, verdictDetail);
        }
      }
    }

    /** Looks for the status line in what was read; decides once it is complete. */
    void parseStatus() {
      int len = response.position();
      byte[] b = response.array();
      for (int i = 0; i < Math.min(len, HTTP_PREFIX.length); i++) {
        if (b[i] != HTTP_PREFIX[i]) {
          finish(ProbeOutcome.MALFORMED_RESPONSE, "not HTTP: " + printable(b, len));
          return;
        }
      }
      int eol = -1;
      for (int i = 0; i < len; i++) {
        if (b[i] == '\n') {
          eol = i;
          break;
        }
      }
      if (eol < 0) {
        if (len >= MAX_STATUS_LINE_BYTES) {
          finish(ProbeOutcome.MALFORMED_RESPONSE, "no status line in " + len + " bytes");
        }
        return;
      }
      String line = new String(b, 0, eol, StandardCharsets.ISO_8859_1).trim();
      // HTTP/1.x SP 3DIGIT [SP reason]
      String[] parts = line.split(" ", 3);
      int status = -1;
      if (parts.length >= 2 && parts[0].matches("HTTP/1\\.[01]") && parts[1].matches("\\d{3}")) {
        status = Integer.parseInt(parts[1]);
      }
      verdictNanos = System.nanoTime();
      if (status < 100 || status > 599) {
        finish(ProbeOutcome.MALFORMED_RESPONSE, "bad status line: " + printable(b, eol));
        return;
      }
      if (probe.isExpected(status)) {
        verdict = ProbeOutcome.SUCCESS;
        verdictDetail = "HTTP " + status;
      } else {
        verdict = ProbeOutcome.UNEXPECTED_STATUS;
        verdictDetail = "HTTP " + status + " (expected: " + statusList() + ")";
      }
      drained = len - eol - 1;
      if (drained > MAX_DRAIN_BYTES) {
        finish(verdict, verdictDetail);
      }
    }

    private String statusList() {
      String s = probe.expectedStatuses().toString();
      return s.substring(1, s.length() - 1);
    }

    void endOfStream() {
      if (verdict != null) {
        finish(verdict, verdictDetail);
      } else if (response.position() == 0) {
        finish(ProbeOutcome.EARLY_CLOSE, "closed before any response");
      } else {
        finish(
            ProbeOutcome.EARLY_CLOSE,
            "closed after an incomplete status line: "
                + printable(response.array(), response.position()));
      }
    }

    // ---- TLS

    void handshake() throws IOException {
      while (true) {
        if (!flushNetOut()) {
          return;
        }
        SSLEngineResult.HandshakeStatus hs = engine.getHandshakeStatus();
        switch (hs) {
          case NEED_WRAP:
            netOut.clear();
            SSLEngineResult w = engine.wrap(ByteBuffer.allocate(0), netOut);
            netOut.flip();
            if (w.getStatus() == SSLEngineResult.Status.CLOSED) {
              finish(ProbeOutcome.TLS_ERROR, "TLS: closed during handshake");
              return;
            }
            break;
          case NEED_UNWRAP:
          case NEED_UNWRAP_AGAIN:
            if (!unwrapHandshake()) {
              return;
            }
            break;
          case NEED_TASK:
            Runnable task;
            while ((task = engine.getDelegatedTask()) != null) {
              task.run();
            }
            break;
          case FINISHED:
          case NOT_HANDSHAKING:
          default:
            handshaken = true;
            key.interestOps(SelectionKey.OP_WRITE);
            wrapAndWrite(request);
            return;
        }
      }
    }

    /** Unwraps handshake data; returns false when it must wait for more bytes. */
    private boolean unwrapHandshake() throws IOException {
      netIn.flip();
      SSLEngineResult r = engine.unwrap(netIn, response);
      netIn.compact();
      switch (r.getStatus()) {
        case BUFFER_UNDERFLOW:
          int n = channel.read(netIn);
          if (n < 0) {
            finish(ProbeOutcome.TLS_ERROR, "TLS: the server closed during the handshake");
            return false;
          }
          if (n == 0) {
            key.interestOps(SelectionKey.OP_READ);
            return false;
          }
          return true;
        case CLOSED:
          finish(ProbeOutcome.TLS_ERROR, "TLS: the server closed during the handshake");
          return false;
        default:
          return true;
      }
    }

    /** Writes pending TLS bytes; returns false, waiting for OP_WRITE, if some remain. */
    private boolean flushNetOut() throws IOException {
      if (netOut.hasRemaining()) {
        channel.write(netOut);
        if (netOut.hasRemaining()) {
          key.interestOps(SelectionKey.OP_WRITE);
          return false;
        }
      }
      return true;
    }

    void wrapAndWrite(ByteBuffer app) throws IOException {
      while (true) {
        if (!flushNetOut()) {
          return;
        }
        if (!app.hasRemaining()) {
          key.interestOps(SelectionKey.OP_READ);
          return;
        }
        netOut.clear();
        engine.wrap(app, netOut);
        netOut.flip();
      }
    }

    void readTls() throws IOException {
      int n = channel.read(netIn);
      boolean eof = n < 0;
      while (true) {
        netIn.flip();
        ByteBuffer into = verdict == null ? response : sink;
        SSLEngineResult r = engine.unwrap(netIn, into);
        netIn.compact();
        if (verdict == null) {
          if (into.position() > 0) {
            parseStatus();
            if (done) {
              return;
            }
          }
        } else {
          drained += into.position();
          into.clear();
          if (drained > MAX_DRAIN_BYTES) {
            finish(verdict, verdictDetail);
            return;
          }
        }
        if (r.getStatus() == SSLEngineResult.Status.CLOSED) {
          endOfStream();
          return;
        }
        if (r.getStatus() == SSLEngineResult.Status.BUFFER_UNDERFLOW || r.bytesConsumed() == 0) {
          break;
        }
      }
      if (eof) {
        endOfStream();
      }
    }

    // ---- endings

    void connectFailed(IOException e) {
      if (e instanceof ConnectException && String.valueOf(e.getMessage()).contains("refused")) {
        finish(ProbeOutcome.REFUSED, "connection refused: nothing listens on " + hostPort());
      } else if (e instanceof NoRouteToHostException) {
        finish(ProbeOutcome.NETWORK_ERROR, "no route to host " + hostPort());
      } else if (e instanceof PortUnreachableException) {
        finish(ProbeOutcome.NETWORK_ERROR, "port unreachable " + hostPort());
      } else {
        finish(ProbeOutcome.NETWORK_ERROR, "connect to " + hostPort() + ": " + e.getMessage());
      }
    }

    void ioFailed(IOException e) {
      if (verdict != null) {
        finish(verdict, verdictDetail); // the status line already decided
      } else if (probe.protocol() != ProbeProtocol.TCP) {
        finish(ProbeOutcome.EARLY_CLOSE, "connection failed before a status line: " + e);
      } else {
        finish(ProbeOutcome.NETWORK_ERROR, e.toString());
      }
    }

    void expire() {
      if (done) {
        return;
      }
      if (verdict != null) {
        finish(verdict, verdictDetail);
        return;
      }
      String phase =
          channel == null || !channel.isConnected()
              ? "no answer to connect (SYN dropped by a firewall, ACL or route?)"
              : engine != null && !handshaken
                  ? "TLS handshake not finished"
                  : "no HTTP status line";
      finish(
          ProbeOutcome.TIMEOUT,
          phase + " within " + probe.timeout().toMillis() + " ms to " + hostPort());
    }

    private String hostPort() {
      return IpLiteral.format(target);
    }

    void finish(ProbeOutcome outcome, String detail) {
      if (done) {
        return;
      }
      done = true;
      deadlines.remove(this);
      long at = verdict != null && outcome == verdict ? verdictNanos : System.nanoTime();
      if (outcome == ProbeOutcome.TIMEOUT) {
        at = System.nanoTime();
      }
      if (channel != null) {
        if (engine != null && handshaken) {
          try {
            engine.closeOutbound();
            netOut.clear();
            engine.wrap(ByteBuffer.allocate(0), netOut);
            netOut.flip();
            channel.write(netOut);
          } catch (IOException e) {
            logger.trace("TLS close_notify to {}", target, e);
          }
        }
        try {
          channel.close(); // FIN: nothing unread is left in the receive buffer on a clean path
        } catch (IOException e) {
          logger.trace("close {}", target, e);
        }
      }
      future.complete(result(outcome, detail, at));
    }
  }

  private static String printable(byte[] b, int len) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < Math.min(len, 40); i++) {
      int c = b[i] & 0xFF;
      sb.append(c >= 0x20 && c < 0x7f ? (char) c : '.');
    }
    return "'" + sb + (len > 40 ? "...'" : "'");
  }

  /** Trusts any certificate: cloud balancers' HTTPS probes validate none. */
  private static final class TrustAll implements X509TrustManager {
    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) {}

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) {}

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return new X509Certificate[0];
    }
  }
}
