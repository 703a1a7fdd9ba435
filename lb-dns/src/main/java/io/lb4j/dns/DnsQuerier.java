package io.lb4j.dns;

import io.lb4j.Durations;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.PortUnreachableException;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.concurrent.TimeoutException;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.SimpleResolver;

/**
 * Sends one DNS query and returns the response, whatever its response code: the seam between a
 * {@link DnsResolution} and the network, so tests can answer with canned messages.
 *
 * <p>Implementations must be thread-safe.
 */
interface DnsQuerier {

  /**
   * Returns the response to a recursive query for {@code name}'s records of {@code type} ({@link
   * org.xbill.DNS.Type}), blocking for at most the querier's timeout.
   *
   * @throws IOException when no usable response came: a timeout, an ICMP port unreachable, a
   *     malformed or mismatched response
   */
  Message query(Name name, int type) throws IOException;

  /**
   * Returns a querier that asks {@code server} over UDP (and again over TCP when the response is
   * truncated), with EDNS0, and waits at most {@code timeout} for each response; never the system
   * resolver, never a cache.
   */
  static DnsQuerier udp(InetSocketAddress server, Duration timeout) {
    SimpleResolver resolver = new SimpleResolver(server);
    resolver.setTimeout(timeout);
    String limit = Durations.format(timeout);
    return (name, type) -> {
      try {
        return resolver.send(Message.newQuery(Record.newRecord(name, type, DClass.IN)));
      } catch (PortUnreachableException e) {
        throw new IOException("ICMP port unreachable: nothing listens there", e);
      } catch (SocketTimeoutException e) {
        throw new IOException("timed out after " + limit, e);
      } catch (IOException e) {
        if (e.getCause() instanceof TimeoutException
            || String.valueOf(e.getMessage()).startsWith("Timed out")) {
          throw new IOException("timed out after " + limit, e);
        }
        throw e;
      }
    };
  }
}
