package io.lb4j.kubernetes;

import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import java.util.List;

/**
 * The EndpointSlices of one Service, listed then watched, with a cache of what was seen: fabric8's
 * informer behind the few operations {@link KubernetesMembershipSource} needs, so that the source's
 * own logic (when to answer, when to report a failure) can be tested without an API server's
 * timing.
 *
 * <p>Implementations must be thread-safe.
 */
interface SliceWatch extends AutoCloseable {

  /** What a watch tells; calls come on the watch's threads and must return at once. */
  interface Events {
    /** The cache changed, or a complete list arrived. */
    void changed();

    /** A list or watch request failed; the watch retries by itself. */
    void failed(Throwable error);
  }

  /** Starts listing and watching, without blocking; events go to {@code events}. */
  void start(Events events);

  /** Returns whether a complete list has arrived at least once (the cache is whole). */
  boolean synced();

  /** Returns whether the watch is connected now. */
  boolean watching();

  /** Returns the slices in the cache now. */
  List<EndpointSlice> slices();

  /** Returns the API server's URL, for messages. */
  String server();

  /** Stops the watch. Idempotent. */
  @Override
  void close();
}
