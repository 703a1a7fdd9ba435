package io.lb4j.netty;

import io.lb4j.IpLiteral;
import java.net.InetSocketAddress;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The connection log: one INFO line per ended client connection on the logger {@value #LOGGER}, for
 * the rules whose {@link RuleOptions#accessLog()} is on (off by default). The line is {@code
 * key=value} pairs in a fixed order (logfmt: {@code grep}, {@code awk}, Loki's {@code | logfmt} and
 * most log shippers split it without a pattern):
 *
 * <pre>
 * client=127.0.0.9:40312 frontend=web listener=127.0.0.1:8080 rule=http backend=web-2
 *   backend_addr=127.0.0.3:8081 connect_ms=0.412 duration_ms=1203 bytes_to_backend=78
 *   bytes_to_client=4711 attempts=1 termination=--
 * </pre>
 *
 * (one line in the log). An absent backend is {@code -}, a connect that never succeeded {@code
 * connect_ms=-1}; a refusal adds {@code refusal=} (a {@link RefusalReason} in lower case), and a
 * connection that did not end normally adds {@code detail="..."} (quoted, {@code "} and {@code \}
 * escaped). {@code termination} is a {@link Termination} code.
 *
 * <p>The line is built once, when the client's side closes, and only when the rule logs connections
 * and the logger is enabled at INFO; nothing is built or counted for it while data flows.
 *
 * <p>Thread-safe.
 */
public final class AccessLog {
  /** The connection log's logger name. */
  public static final String LOGGER = "io.lb4j.access";

  private static final Logger logger = LoggerFactory.getLogger(LOGGER);

  private AccessLog() {}

  /** Logs {@code record} at INFO on {@value #LOGGER} when that level is enabled. */
  static void log(ConnectionRecord record) {
    if (logger.isInfoEnabled()) {
      logger.info(format(record));
    }
  }

  /**
   * Returns the connection log's line for an ended connection, without a trailing newline.
   *
   * @param r the ended connection
   * @return its line, {@code key=value} pairs separated by spaces
   */
  public static String format(ConnectionRecord r) {
    StringBuilder b = new StringBuilder(256);
    b.append("client=").append(address(r.client()));
    b.append(" frontend=").append(r.frontend());
    b.append(" listener=").append(address(r.listener()));
    b.append(" rule=").append(r.rule());
    b.append(" backend=").append(r.backend() == null ? "-" : r.backend());
    b.append(" backend_addr=").append(address(r.backendAddress()));
    b.append(" connect_ms=");
    if (r.connectNanos() < 0) {
      b.append("-1");
    } else {
      long micros = r.connectNanos() / 1_000;
      b.append(micros / 1_000).append('.');
      long frac = micros % 1_000;
      if (frac < 100) {
        b.append('0');
      }
      if (frac < 10) {
        b.append('0');
      }
      b.append(frac);
    }
    b.append(" duration_ms=").append(r.durationNanos() / 1_000_000);
    b.append(" bytes_to_backend=").append(r.bytesToBackend());
    b.append(" bytes_to_client=").append(r.bytesToClient());
    b.append(" attempts=").append(r.attempts());
    b.append(" termination=").append(r.termination().code());
    if (r.refusal() != null) {
      b.append(" refusal=").append(r.refusal().name().toLowerCase(Locale.ROOT));
    }
    if (r.detail() != null) {
      b.append(" detail=\"");
      String d = r.detail();
      for (int i = 0; i < d.length(); i++) {
        char c = d.charAt(i);
        if (c == '"' || c == '\\') {
          b.append('\\').append(c);
        } else if (c == '\n' || c == '\r') {
          b.append(' '); // one connection, one line
        } else {
          b.append(c);
        }
      }
      b.append('"');
    }
    return b.toString();
  }

  private static String address(InetSocketAddress a) {
    return a == null ? "-" : IpLiteral.format(a);
  }
}
