package io.lb4j.connect;

import io.lb4j.Lease;
import java.io.FilterInputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.ref.WeakReference;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketException;
import java.net.SocketOption;
import java.nio.channels.SocketChannel;
import java.util.Set;

/**
 * A client socket to a backend a rule chose, with the {@link Lease} it holds: closing the socket
 * ends the lease, and the balancer ending the lease (the backend {@code DISABLED}, a drain
 * deadline) closes the socket, so a blocked read fails and the client reconnects elsewhere.
 *
 * <p>From {@link BalancedConnector#connect()} connected, or from {@link
 * BalancedConnector#unconnectedSocket()} not yet connected, for a {@code javax.net.SocketFactory}:
 * the driver sets its options (kept and applied to every attempt) and calls {@link #connect(
 * SocketAddress, int)}, whose address is ignored — the rule chooses the backend, retrying another
 * when one refuses or times out — and whose timeout, when above 0, caps each attempt. {@link #bind}
 * is refused: bind through {@link BalancedConnector.Builder#bindLocalAddress}.
 *
 * <p>Every other method acts on the connected socket underneath, as a plain {@link Socket} does.
 *
 * <p>Thread-safe as {@link Socket} is.
 */
public final class LeasedSocket extends Socket {
  private final BalancedConnector connector;
  private final long keyHash;
  private final boolean keyed;
  private final Object lock = new Object();

  private volatile Socket socket; // null until connected
  private volatile Lease lease;
  private volatile boolean closed;
  private volatile String endReason;

  // Options set before the connect, applied to each attempt. Guarded by lock.
  private Integer soTimeout;
  private Boolean tcpNoDelay;
  private Boolean keepAlive;
  private Boolean reuseAddress;
  private Boolean oobInline;
  private Integer receiveBufferSize;
  private Integer sendBufferSize;
  private Integer trafficClass;
  private Integer linger; // -1 off
  private int[] performance;

  LeasedSocket(BalancedConnector connector, long keyHash, boolean keyed) {
    this.connector = connector;
    this.keyHash = keyHash;
    this.keyed = keyed;
  }

  /** {@return the lease, or null before the socket is connected} */
  public Lease lease() {
    return lease;
  }

  /**
   * Returns why the balancer ended this socket's lease and closed it ({@code "backend DISABLED"}),
   * or null.
   *
   * @return the balancer's reason, or null when the balancer has not ended the lease
   */
  public String endReason() {
    return endReason;
  }

  // ---------------------------------------------------------------- connecting

  /** Connects to the backend the rule chooses; {@code endpoint} is ignored. */
  @Override
  public void connect(SocketAddress endpoint) throws IOException {
    connect(endpoint, 0);
  }

  /**
   * Connects to the backend the rule chooses, retrying others; {@code endpoint} is ignored, {@code
   * timeout} (milliseconds, 0 for the connector's) caps each attempt.
   *
   * @throws java.net.ConnectException when no backend could be leased or every attempt failed
   * @throws SocketException if the socket is closed or already connected
   */
  @Override
  public void connect(SocketAddress endpoint, int timeout) throws IOException {
    if (timeout < 0) {
      throw new IllegalArgumentException("timeout: " + timeout + " (expected: >= 0)");
    }
    synchronized (lock) {
      if (closed) {
        throw new SocketException("Socket is closed");
      }
      if (socket != null) {
        throw new SocketException("already connected");
      }
      BalancedConnector.Attempts<Socket> a =
          connector.connect(
              keyHash,
              keyed,
              timeout,
              () -> {
                Socket s = new Socket();
                applyOptions(s);
                return new BalancedConnector.Endpoint<>(s, s);
              });
      this.socket = a.connection;
      this.lease = a.lease;
    }
    WeakReference<LeasedSocket> self = new WeakReference<>(this);
    lease.onEnded(
        reason -> {
          LeasedSocket s = self.get();
          if (s != null) {
            s.endReason = reason;
            s.closeQuietly();
          }
        });
  }

  private void applyOptions(Socket s) throws IOException {
    if (soTimeout != null) {
      s.setSoTimeout(soTimeout);
    }
    if (tcpNoDelay != null) {
      s.setTcpNoDelay(tcpNoDelay);
    }
    if (keepAlive != null) {
      s.setKeepAlive(keepAlive);
    }
    if (reuseAddress != null) {
      s.setReuseAddress(reuseAddress);
    }
    if (oobInline != null) {
      s.setOOBInline(oobInline);
    }
    if (receiveBufferSize != null) {
      s.setReceiveBufferSize(receiveBufferSize);
    }
    if (sendBufferSize != null) {
      s.setSendBufferSize(sendBufferSize);
    }
    if (trafficClass != null) {
      s.setTrafficClass(trafficClass);
    }
    if (linger != null) {
      s.setSoLinger(linger >= 0, Math.max(linger, 0));
    }
    if (performance != null) {
      s.setPerformancePreferences(performance[0], performance[1], performance[2]);
    }
  }

  /** Refused: a balanced socket binds through {@code BalancedConnector.bindLocalAddress}. */
  @Override
  public void bind(SocketAddress bindpoint) throws IOException {
    throw new SocketException(
        "bind: "
            + bindpoint
            + " (expected: no bind on a balanced socket; set"
            + " BalancedConnector.Builder.bindLocalAddress to bind before the backend is chosen)");
  }

  private Socket connected() throws SocketException {
    Socket s = socket;
    if (s == null) {
      throw new SocketException(closed ? "Socket is closed" : "Socket is not connected");
    }
    return s;
  }

  // ---------------------------------------------------------------- streams

  @Override
  public InputStream getInputStream() throws IOException {
    InputStream in = connected().getInputStream();
    Lease l = lease;
    if (l.flow() == null) {
      return in;
    }
    return new FilterInputStream(in) {
      @Override
      public int read() throws IOException {
        l.touch();
        return super.read();
      }

      @Override
      public int read(byte[] b, int off, int len) throws IOException {
        l.touch();
        return in.read(b, off, len);
      }
    };
  }

  @Override
  public OutputStream getOutputStream() throws IOException {
    OutputStream out = connected().getOutputStream();
    Lease l = lease;
    if (l.flow() == null) {
      return out;
    }
    return new FilterOutputStream(out) {
      @Override
      public void write(int b) throws IOException {
        l.touch();
        out.write(b);
      }

      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        l.touch();
        out.write(b, off, len);
      }
    };
  }

  // ---------------------------------------------------------------- closing

  @Override
  public void close() throws IOException {
    Socket s;
    Lease l;
    synchronized (lock) {
      closed = true;
      s = socket;
      l = lease;
    }
    try {
      if (s != null) {
        s.close();
      }
    } finally {
      if (l != null) {
        l.close();
      }
    }
  }

  private void closeQuietly() {
    try {
      close();
    } catch (IOException ignored) {
      // the balancer ended the lease: the socket goes either way
    }
  }

  @Override
  public boolean isClosed() {
    Socket s = socket;
    return closed || (s != null && s.isClosed());
  }

  @Override
  public boolean isConnected() {
    Socket s = socket;
    return s != null && s.isConnected();
  }

  @Override
  public boolean isBound() {
    Socket s = socket;
    return s != null && s.isBound();
  }

  @Override
  public void shutdownInput() throws IOException {
    connected().shutdownInput();
  }

  @Override
  public void shutdownOutput() throws IOException {
    connected().shutdownOutput();
  }

  @Override
  public boolean isInputShutdown() {
    Socket s = socket;
    return s != null && s.isInputShutdown();
  }

  @Override
  public boolean isOutputShutdown() {
    Socket s = socket;
    return s != null && s.isOutputShutdown();
  }

  // ---------------------------------------------------------------- addresses

  @Override
  public InetAddress getInetAddress() {
    Socket s = socket;
    return s == null ? null : s.getInetAddress();
  }

  @Override
  public int getPort() {
    Socket s = socket;
    return s == null ? 0 : s.getPort();
  }

  @Override
  public InetAddress getLocalAddress() {
    Socket s = socket;
    return s == null ? null : s.getLocalAddress();
  }

  @Override
  public int getLocalPort() {
    Socket s = socket;
    return s == null ? -1 : s.getLocalPort();
  }

  @Override
  public SocketAddress getRemoteSocketAddress() {
    Socket s = socket;
    return s == null ? null : s.getRemoteSocketAddress();
  }

  @Override
  public SocketAddress getLocalSocketAddress() {
    Socket s = socket;
    return s == null ? null : s.getLocalSocketAddress();
  }

  /** Returns null: a balanced socket has no channel (use {@code BalancedConnector.openChannel}). */
  @Override
  public SocketChannel getChannel() {
    return null;
  }

  // ---------------------------------------------------------------- options

  @Override
  public void setTcpNoDelay(boolean on) throws SocketException {
    synchronized (lock) {
      Socket s = socket;
      if (s != null) {
        s.setTcpNoDelay(on);
      } else {
        tcpNoDelay = on;
      }
    }
  }

  @Override
  public boolean getTcpNoDelay() throws SocketException {
    Socket s = socket;
    return s != null ? s.getTcpNoDelay() : tcpNoDelay != null && tcpNoDelay;
  }

  @Override
  public void setSoLinger(boolean on, int seconds) throws SocketException {
    if (on && seconds < 0) {
      throw new IllegalArgumentException("linger: " + seconds + " (expected: >= 0)");
    }
    synchronized (lock) {
      Socket s = socket;
      if (s != null) {
        s.setSoLinger(on, seconds);
      } else {
        linger = on ? seconds : -1;
      }
    }
  }

  @Override
  public int getSoLinger() throws SocketException {
    Socket s = socket;
    return s != null ? s.getSoLinger() : linger == null ? -1 : linger;
  }

  @Override
  public void sendUrgentData(int data) throws IOException {
    connected().sendUrgentData(data);
  }

  @Override
  public void setOOBInline(boolean on) throws SocketException {
    synchronized (lock) {
      Socket s = socket;
      if (s != null) {
        s.setOOBInline(on);
      } else {
        oobInline = on;
      }
    }
  }

  @Override
  public boolean getOOBInline() throws SocketException {
    Socket s = socket;
    return s != null ? s.getOOBInline() : oobInline != null && oobInline;
  }

  @Override
  public void setSoTimeout(int timeout) throws SocketException {
    if (timeout < 0) {
      throw new IllegalArgumentException("timeout: " + timeout + " (expected: >= 0)");
    }
    synchronized (lock) {
      Socket s = socket;
      if (s != null) {
        s.setSoTimeout(timeout);
      } else {
        soTimeout = timeout;
      }
    }
  }

  @Override
  public int getSoTimeout() throws SocketException {
    Socket s = socket;
    return s != null ? s.getSoTimeout() : soTimeout == null ? 0 : soTimeout;
  }

  @Override
  public void setSendBufferSize(int size) throws SocketException {
    if (size <= 0) {
      throw new IllegalArgumentException("sendBufferSize: " + size + " (expected: > 0)");
    }
    synchronized (lock) {
      Socket s = socket;
      if (s != null) {
        s.setSendBufferSize(size);
      } else {
        sendBufferSize = size;
      }
    }
  }

  @Override
  public int getSendBufferSize() throws SocketException {
    Socket s = socket;
    return s != null ? s.getSendBufferSize() : sendBufferSize == null ? 0 : sendBufferSize;
  }

  @Override
  public void setReceiveBufferSize(int size) throws SocketException {
    if (size <= 0) {
      throw new IllegalArgumentException("receiveBufferSize: " + size + " (expected: > 0)");
    }
    synchronized (lock) {
      Socket s = socket;
      if (s != null) {
        s.setReceiveBufferSize(size);
      } else {
        receiveBufferSize = size;
      }
    }
  }

  @Override
  public int getReceiveBufferSize() throws SocketException {
    Socket s = socket;
    return s != null ? s.getReceiveBufferSize() : receiveBufferSize == null ? 0 : receiveBufferSize;
  }

  @Override
  public void setKeepAlive(boolean on) throws SocketException {
    synchronized (lock) {
      Socket s = socket;
      if (s != null) {
        s.setKeepAlive(on);
      } else {
        keepAlive = on;
      }
    }
  }

  @Override
  public boolean getKeepAlive() throws SocketException {
    Socket s = socket;
    return s != null ? s.getKeepAlive() : keepAlive != null && keepAlive;
  }

  @Override
  public void setTrafficClass(int tc) throws SocketException {
    if (tc < 0 || tc > 255) {
      throw new IllegalArgumentException("trafficClass: " + tc + " (expected: 0-255)");
    }
    synchronized (lock) {
      Socket s = socket;
      if (s != null) {
        s.setTrafficClass(tc);
      } else {
        trafficClass = tc;
      }
    }
  }

  @Override
  public int getTrafficClass() throws SocketException {
    Socket s = socket;
    return s != null ? s.getTrafficClass() : trafficClass == null ? 0 : trafficClass;
  }

  @Override
  public void setReuseAddress(boolean on) throws SocketException {
    synchronized (lock) {
      Socket s = socket;
      if (s != null) {
        s.setReuseAddress(on);
      } else {
        reuseAddress = on;
      }
    }
  }

  @Override
  public boolean getReuseAddress() throws SocketException {
    Socket s = socket;
    return s != null ? s.getReuseAddress() : reuseAddress != null && reuseAddress;
  }

  @Override
  public void setPerformancePreferences(int connectionTime, int latency, int bandwidth) {
    synchronized (lock) {
      Socket s = socket;
      if (s != null) {
        s.setPerformancePreferences(connectionTime, latency, bandwidth);
      } else {
        performance = new int[] {connectionTime, latency, bandwidth};
      }
    }
  }

  @Override
  public <T> Socket setOption(SocketOption<T> name, T value) throws IOException {
    connected().setOption(name, value);
    return this;
  }

  @Override
  public <T> T getOption(SocketOption<T> name) throws IOException {
    return connected().getOption(name);
  }

  @Override
  public Set<SocketOption<?>> supportedOptions() {
    Socket s = socket;
    return s != null ? s.supportedOptions() : Set.of();
  }

  @Override
  public String toString() {
    Socket s = socket;
    Lease l = lease;
    if (s == null) {
      return "LeasedSocket[unconnected, rule " + connector.rule() + "]";
    }
    return "LeasedSocket[" + l.rule() + " -> " + l.backend().id() + ", " + s + "]";
  }
}
