package io.lb4j;

/**
 * The operator's state of a backend, independent of its health.
 *
 * <p>Instances are immutable and thread-safe.
 */
public enum AdminState {
  /** The backend receives new flows while it is healthy and its weight is above zero. */
  ENABLED,
  /**
   * The backend receives no new flows; flows already assigned to it continue until they close or
   * idle out (LVS's quiesced server, Azure's admin state Down for TCP).
   */
  DRAINING,
  /**
   * The backend is out of service: no new flows, and a flow still pinned to it is re-assigned on
   * its next packet (IPVS's {@code expire_nodest_conn=1}).
   */
  DISABLED
}
