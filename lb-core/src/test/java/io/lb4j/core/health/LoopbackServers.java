package io.lb4j.core.health;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SNIServerName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;

/**
 * Small blocking servers on loopback addresses for probe tests: each runs one daemon thread and
 * closes with the test. Every server binds port 0 on a 127.0.0.x address.
 */
final class LoopbackServers implements AutoCloseable {
  private final List<AutoCloseable> open = new ArrayList<>();

  /** What a server saw of one connection. */
  record Seen(String requestHead, boolean endOfStream, String error, List<String> serverNames) {}

  /** How a server answers a connection. */
  interface Behaviour {
    void serve(Socket socket, BlockingQueue<Seen> seen) throws IOException;
  }

  /** Accepts and records whether the client's close was a FIN (end of stream) or a reset. */
  static final Behaviour READ_TO_END =
      (socket, seen) -> {
        InputStream in = socket.getInputStream();
        try {
          int b = in.read();
          seen.add(new Seen("", b < 0, null, List.of()));
        } catch (IOException e) {
          seen.add(new Seen("", false, e.toString(), List.of()));
        }
      };

  /** Reads the request head and answers with {@code response}, then closes. */
  static Behaviour respond(String response) {
    return (socket, seen) -> {
      String head = readHead(socket.getInputStream());
      List<String> names = new ArrayList<>();
      if (socket instanceof SSLSocket) {
        for (SNIServerName n :
            ((ExtendedSSLSession) ((SSLSocket) socket).getSession()).getRequestedServerNames()) {
          names.add(new String(n.getEncoded(), StandardCharsets.US_ASCII));
        }
      }
      seen.add(new Seen(head, false, null, names));
      OutputStream out = socket.getOutputStream();
      out.write(response.getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
    };
  }

  /** Reads the request and never answers until the test ends. */
  static final Behaviour SILENT =
      (socket, seen) -> {
        seen.add(new Seen(readHead(socket.getInputStream()), false, null, List.of()));
        try {
          socket.getInputStream().read(); // until the prober gives up and closes
        } catch (IOException e) {
          // the prober closed; nothing to record
        }
      };

  /** Writes {@code greeting} as soon as it accepts, without reading: a server that speaks first. */
  static Behaviour greet(String greeting) {
    return (socket, seen) -> {
      seen.add(new Seen("", false, null, List.of()));
      socket.getOutputStream().write(greeting.getBytes(StandardCharsets.ISO_8859_1));
      socket.getOutputStream().flush();
    };
  }

  /** Accepts and closes at once, before any response. */
  static final Behaviour CLOSE_AT_ONCE =
      (socket, seen) -> seen.add(new Seen("", false, null, List.of()));

  /** A running server. */
  static final class Server {
    final InetSocketAddress address;
    final BlockingQueue<Seen> seen = new LinkedBlockingQueue<>();

    Server(InetSocketAddress address) {
      this.address = address;
    }
  }

  Server plain(String host, Behaviour behaviour) throws IOException {
    ServerSocket ss = new ServerSocket(0, 50, InetAddress.getByName(host));
    return serve(ss, behaviour);
  }

  Server tls(String host, Behaviour behaviour) throws Exception {
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try (InputStream in = LoopbackServers.class.getResourceAsStream("/tls/selfsigned.p12")) {
      ks.load(in, "changeit".toCharArray());
    }
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(ks, "changeit".toCharArray());
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(kmf.getKeyManagers(), null, null);
    SSLServerSocket ss =
        (SSLServerSocket)
            ctx.getServerSocketFactory().createServerSocket(0, 50, InetAddress.getByName(host));
    return serve(ss, behaviour);
  }

  /** Returns a port on {@code host} that nothing listens on (bound, then closed). */
  static InetSocketAddress closedPort(String host) throws IOException {
    try (ServerSocket ss = new ServerSocket(0, 1, InetAddress.getByName(host))) {
      return new InetSocketAddress(ss.getInetAddress(), ss.getLocalPort());
    }
  }

  private Server serve(ServerSocket ss, Behaviour behaviour) {
    open.add(ss);
    Server server = new Server(new InetSocketAddress(ss.getInetAddress(), ss.getLocalPort()));
    Thread t =
        new Thread(
            () -> {
              while (!ss.isClosed()) {
                try (Socket s = ss.accept()) {
                  behaviour.serve(s, server.seen);
                } catch (IOException e) {
                  if (!ss.isClosed()) {
                    server.seen.add(new Seen("", false, e.toString(), List.of()));
                  }
                }
              }
            },
            "loopback-server-" + server.address);
    t.setDaemon(true);
    t.start();
    return server;
  }

  /** Keeps a resource open until the test ends. */
  void keep(AutoCloseable c) {
    open.add(c);
  }

  private static String readHead(InputStream in) throws IOException {
    StringBuilder sb = new StringBuilder();
    int c;
    while ((c = in.read()) >= 0) {
      sb.append((char) c);
      if (sb.length() >= 4 && sb.substring(sb.length() - 4).equals("\r\n\r\n")) {
        break;
      }
      if (sb.length() > 8192) {
        break;
      }
    }
    return sb.toString();
  }

  @Override
  public void close() throws IOException {
    for (AutoCloseable c : open) {
      try {
        c.close();
      } catch (IOException e) {
        throw e;
      } catch (Exception e) {
        throw new IOException(e);
      }
    }
  }
}
