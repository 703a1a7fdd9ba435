package io.lb4j.connect;

import io.lb4j.Lease;
import java.io.Closeable;
import java.io.IOException;
import java.lang.ref.WeakReference;
import java.nio.channels.SocketChannel;

/**
 * A connected {@link SocketChannel} to a backend a rule chose, with the {@link Lease} it holds.
 * Close this, not the bare channel: closing it closes the channel and ends the lease, and the
 * balancer ending the lease ({@code DISABLED}, a drain deadline) closes the channel. The channel is
 * connected in blocking mode; configure it non-blocking afterwards if a selector serves it.
 *
 * <p>Thread-safe.
 */
public final class LeasedChannel implements Closeable {
  private final SocketChannel channel;
  private final Lease lease;
  private volatile String endReason;

  LeasedChannel(SocketChannel channel, Lease lease) {
    this.channel = channel;
    this.lease = lease;
    WeakReference<LeasedChannel> self = new WeakReference<>(this);
    lease.onEnded(
        reason -> {
          LeasedChannel c = self.get();
          if (c != null) {
            c.endReason = reason;
            BalancedConnector.closeQuietly(c);
          }
        });
  }

  /** {@return the channel, connected to the lease's target and in blocking mode} */
  public SocketChannel channel() {
    return channel;
  }

  /** {@return the lease the channel holds; closing the channel ends it} */
  public Lease lease() {
    return lease;
  }

  /** {@return why the balancer ended the lease and closed the channel, or null} */
  public String endReason() {
    return endReason;
  }

  /** Closes the channel and ends the lease; idempotent. */
  @Override
  public void close() throws IOException {
    try {
      channel.close();
    } finally {
      lease.close();
    }
  }

  @Override
  public String toString() {
    return "LeasedChannel[" + lease.rule() + " -> " + lease.backend().id() + ", " + channel + "]";
  }
}
