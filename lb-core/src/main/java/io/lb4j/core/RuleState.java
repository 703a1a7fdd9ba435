package io.lb4j.core;

import io.lb4j.DistributionMode;
import io.lb4j.FlowKey;
import io.lb4j.Frontend;
import io.lb4j.OutlierDetection;
import io.lb4j.Protocol;
import io.lb4j.Selection;
import io.lb4j.core.hash.FlowHasher;
import io.lb4j.spi.BackendSelector;
import java.util.HashMap;
import java.util.Map;

/**
 * One rule in one snapshot: where it listens, its slots, its selector and its "none" answers.
 * Immutable once published; the slots it points at carry their own concurrent counters.
 */
final class RuleState {
  final String name;
  final boolean nat;
  final Protocol protocol;
  final int port;
  final boolean wildcard;
  final long addressHigh;
  final long addressLow;
  final DistributionMode mode;
  final OutlierDetection outlierDetection;
  final BackendSlot[] slots;
  final Map<String, BackendSlot> slotById;
  final BackendSelector selector;

  /** The indices of the slots in rotation: the retry candidates after the selector's draws. */
  final int[] rotation;

  /**
   * The indices of the slots out of rotation only because passive health ejected them (enabled,
   * weight above 0, probe passing or none, no override): a retry's last resort.
   */
  final int[] lastResort;

  final Selection none;
  final Selection full;

  /** The answer to a retry that tried every candidate. */
  final Selection exhausted;

  /** The rule's recent new flows; the same window across builds of the rule. */
  final NewFlowWindow window;

  /**
   * A hash of what decides a new flow's backend, but the flow-hash seed: the algorithm and its
   * parameters, the distribution mode, each backend in rotation with its weight and target.
   */
  final long fingerprint;

  RuleState(
      String name,
      boolean nat,
      Frontend frontend,
      Protocol protocol,
      int port,
      DistributionMode mode,
      OutlierDetection outlierDetection,
      BackendSlot[] slots,
      BackendSelector selector,
      int[] rotation,
      int[] lastResort,
      Selection none,
      Selection full,
      Selection exhausted,
      NewFlowWindow window,
      long fingerprint) {
    this.name = name;
    this.nat = nat;
    this.protocol = protocol;
    this.port = port;
    this.wildcard = frontend.isWildcard();
    FlowKey self = FlowKey.of(protocol, frontend.address(), port, frontend.address(), port);
    this.addressHigh = self.sourceHigh();
    this.addressLow = self.sourceLow();
    this.mode = mode;
    this.outlierDetection = outlierDetection;
    this.slots = slots;
    Map<String, BackendSlot> byId = new HashMap<>();
    for (BackendSlot slot : slots) {
      byId.put(slot.backendId, slot);
    }
    this.slotById = byId;
    this.selector = selector;
    this.rotation = rotation;
    this.lastResort = lastResort;
    this.none = none;
    this.full = full;
    this.exhausted = exhausted;
    this.window = window;
    this.fingerprint = fingerprint;
  }

  /** Returns whether this rule listens on the flow's destination port and protocol. */
  boolean matchesPort(FlowKey flow) {
    return flow.destinationPort() == port && flow.protocol() == protocol;
  }

  /** Returns whether this rule listens on exactly the flow's destination address. */
  boolean matchesAddress(FlowKey flow) {
    return flow.destinationLow() == addressLow && flow.destinationHigh() == addressHigh;
  }

  /** Returns the index of the slot for a new flow, or {@link BackendSelector#NONE}. */
  int select(FlowKey flow, long seed) {
    return selector.select(FlowHasher.hash(flow, mode, seed));
  }
}
