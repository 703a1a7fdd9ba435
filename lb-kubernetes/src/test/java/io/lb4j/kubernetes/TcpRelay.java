package io.lb4j.kubernetes;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A TCP relay on 127.0.0.1 in front of the mock API server, so that a test can take the API server
 * away from a client the way a lost network or a restarted API server does: {@link #cut()} resets
 * the client's side of every relayed connection (its watch among them) and refuses new ones; {@link
 * #restore()} accepts again on the same port. Stopping the mock server itself would not do: it
 * stops accepting, but keeps the connections it has.
 *
 * <p>The mock server's side of a cut connection is left open and drained until {@link #close()},
 * which a test calls once it is done with the mock server: fabric8's mock server (8.0.0) can block
 * its only event loop for up to a minute when a watch connection ends while it is sending an event
 * on it (WatchEventsListener waits on the event loop for a send that needs the event loop), which
 * would stall every later test rather than one client's view of the server.
 *
 * <p>Thread-safe. Its threads are daemons that end when their sockets close.
 */
final class TcpRelay implements AutoCloseable {
  private final int target;
  private final int port;
  private final Set<Socket> clients = ConcurrentHashMap.newKeySet();
  private final Set<Socket> upstreams = ConcurrentHashMap.newKeySet();
  private final Set<Socket> kept = ConcurrentHashMap.newKeySet(); // mock sides of cut connections
  private volatile ServerSocket listening;

  TcpRelay(int target) throws IOException {
    this.target = target;
    this.port = listen(0);
  }

  /** Returns {@code http://127.0.0.1:PORT/}. */
  String url() {
    return "http://127.0.0.1:" + port + "/";
  }

  private synchronized int listen(int wanted) throws IOException {
    ServerSocket s = new ServerSocket();
    s.setReuseAddress(true);
    s.bind(new InetSocketAddress(MockApiServer.LOOPBACK, wanted));
    listening = s;
    Thread t = new Thread(() -> accept(s), "relay-accept-" + s.getLocalPort());
    t.setDaemon(true);
    t.start();
    return s.getLocalPort();
  }

  private void accept(ServerSocket s) {
    while (!s.isClosed()) {
      Socket client;
      try {
        client = s.accept();
      } catch (IOException closed) {
        return;
      }
      Socket upstream = new Socket();
      try {
        upstream.connect(new InetSocketAddress(MockApiServer.LOOPBACK, target), 5_000);
      } catch (IOException e) {
        closeQuietly(client);
        closeQuietly(upstream);
        continue;
      }
      clients.add(client);
      upstreams.add(upstream);
      start(() -> toUpstream(client, upstream));
      start(() -> toClient(upstream, client));
    }
  }

  private static void start(Runnable pump) {
    Thread t = new Thread(pump, "relay-pump");
    t.setDaemon(true);
    t.start();
  }

  /** Client to mock server; when the client's side ends because of a cut, the other stays. */
  private void toUpstream(Socket client, Socket upstream) {
    byte[] buffer = new byte[16 * 1024];
    try (InputStream in = client.getInputStream()) {
      OutputStream out = upstream.getOutputStream();
      for (int n; (n = in.read(buffer)) >= 0; ) {
        out.write(buffer, 0, n);
        out.flush();
      }
    } catch (IOException ended) {
      // the client closed, or was reset by cut()
    }
    closeQuietly(client);
    clients.remove(client);
    if (!kept.contains(upstream)) {
      closeQuietly(upstream);
      upstreams.remove(upstream);
    }
  }

  /** Mock server to client; after the client is gone, what the mock server sends is dropped. */
  private void toClient(Socket upstream, Socket client) {
    byte[] buffer = new byte[16 * 1024];
    boolean clientGone = false;
    try (InputStream in = upstream.getInputStream()) {
      for (int n; (n = in.read(buffer)) >= 0; ) {
        if (!clientGone) {
          try {
            client.getOutputStream().write(buffer, 0, n);
            client.getOutputStream().flush();
          } catch (IOException gone) {
            clientGone = true; // keep draining, so the mock server's writes never block
          }
        }
      }
    } catch (IOException ended) {
      // the mock server closed
    }
    closeQuietly(client);
    closeQuietly(upstream);
    clients.remove(client);
    upstreams.remove(upstream);
  }

  /** Refuses new connections and resets the client's side of every relayed one. */
  synchronized void cut() {
    kept.addAll(upstreams);
    closeQuietly(listening);
    for (Socket s : clients) {
      try {
        s.setSoLinger(true, 0); // RST: the client learns at once that the connection is gone
      } catch (IOException ignored) {
        // closing anyway
      }
      closeQuietly(s);
    }
  }

  /** Accepts again on the same port. */
  synchronized void restore() throws IOException {
    if (listening.isClosed()) {
      listen(port);
    }
  }

  /** Closes everything, the mock server's sides of cut connections too. */
  @Override
  public synchronized void close() {
    cut();
    for (Socket s : upstreams) {
      closeQuietly(s);
    }
    for (Socket s : kept) {
      closeQuietly(s);
    }
  }

  private static void closeQuietly(java.io.Closeable c) {
    try {
      if (c != null) {
        c.close();
      }
    } catch (IOException ignored) {
      // nothing to do
    }
  }
}
