package io.lb4j.netty;

import java.net.InetSocketAddress;
import java.util.Objects;

/**
 * One ended client connection, as the {@linkplain AccessLog connection log} writes it and {@link
 * ConnectionListener#onConnectionEnded} receives it. Built once, when the client's side closes, and
 * only when the rule logs connections or a listener is registered.
 *
 * <p>Instances are immutable and thread-safe.
 *
 * @param rule the rule whose listener accepted the connection
 * @param frontend the rule's frontend
 * @param client the client's address and port (the PROXY header's source when the frontend reads
 *     one)
 * @param listener the proxy's address and port the client connected to
 * @param backend the id of the backend of the last connect attempt, or null when none was made
 *     (refused at admission, or the client left first)
 * @param backendAddress the address and port of that attempt, or null
 * @param connectNanos from the first connect attempt to the established connection, all attempts
 *     included (HAProxy's {@code Tc}), or -1 when no attempt succeeded
 * @param durationNanos from the accept to the close of the client's side (HAProxy's {@code Tt})
 * @param bytesToBackend bytes relayed from the client to the backend
 * @param bytesToClient bytes relayed from the backend to the client
 * @param attempts connect attempts made, 0 when refused at admission
 * @param termination how it ended
 * @param refusal why the frontend refused it, or null when it was admitted
 * @param detail what ended it in words (the refusal's match, the last connect error, the reason the
 *     balancer gave, the idle timeout), or null for a normal close
 */
public record ConnectionRecord(
    String rule,
    String frontend,
    InetSocketAddress client,
    InetSocketAddress listener,
    String backend,
    InetSocketAddress backendAddress,
    long connectNanos,
    long durationNanos,
    long bytesToBackend,
    long bytesToClient,
    int attempts,
    Termination termination,
    RefusalReason refusal,
    String detail) {

  /**
   * Checks that the fields that are always known are there.
   *
   * @param rule the rule whose listener accepted the connection
   * @param frontend the rule's frontend
   * @param client the client's address and port
   * @param listener the proxy's address and port the client connected to
   * @param backend the backend of the last connect attempt, or null
   * @param backendAddress the address and port of that attempt, or null
   * @param connectNanos from the first connect attempt to the established connection, or -1
   * @param durationNanos from the accept to the close of the client's side
   * @param bytesToBackend bytes relayed from the client to the backend
   * @param bytesToClient bytes relayed from the backend to the client
   * @param attempts connect attempts made
   * @param termination how it ended
   * @param refusal why the frontend refused it, or null
   * @param detail what ended it in words, or null for a normal close
   */
  public ConnectionRecord {
    Objects.requireNonNull(rule, "rule");
    Objects.requireNonNull(frontend, "frontend");
    Objects.requireNonNull(client, "client");
    Objects.requireNonNull(listener, "listener");
    Objects.requireNonNull(termination, "termination");
  }
}
