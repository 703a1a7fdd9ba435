package io.lb4j.netty;

import java.io.IOException;
import java.net.BindException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * The proxy's source ports: per backend address and port (a <em>target</em>), the backend
 * connections open now by local source address, and the connects that failed for want of a source
 * port; the port rings of source addresses with their own range; the kernel's ephemeral range.
 *
 * <p>Why per target: a TCP connection is a 4-tuple, so the proxy's connections to one backend
 * address and port from one local address can use each port of the ephemeral range once ({@code
 * net.ipv4.ip_local_port_range}, 28,232 ports by default on Linux). Past that, {@code connect}
 * fails with {@code EADDRNOTAVAIL}, "Cannot assign requested address": the SNAT port exhaustion
 * Azure's guide warns about, here in user space. Another backend, another local address or a wider
 * range each add a range of their own.
 *
 * <p>Cost: a connect looks its target up by address (one map read), a connected one increments a
 * counter and its close decrements it; a failed one is classified by its cause. Nothing here is on
 * the relay path.
 *
 * <p>Thread-safe.
 */
final class SourcePorts {
  /**
   * Linux's default {@code net.ipv4.ip_local_port_range}, 32768-60999 (Documentation/networking/
   * ip-sysctl.rst), used where the file cannot be read.
   */
  static final int LINUX_DEFAULT_LOW = 32768;

  static final int LINUX_DEFAULT_HIGH = 60999;

  static final Path RANGE_FILE = Path.of("/proc/sys/net/ipv4/ip_local_port_range");

  /** {@code strerror(EADDRNOTAVAIL)}: glibc, then musl. */
  private static final String[] EADDRNOTAVAIL_MESSAGES = {
    "Cannot assign requested address", "Address not available"
  };

  /** How deep a cause chain is searched: Netty wraps a connect error once or twice. */
  private static final int MAX_CAUSE_DEPTH = 8;

  final int kernelLow;
  final int kernelHigh;

  /** Where the kernel range came from, for a finding's evidence. */
  final String kernelRangeSource;

  /**
   * Whether a port the kernel picks for a bound source is picked per target (at connect, with
   * {@code IP_BIND_ADDRESS_NO_PORT}: epoll and io_uring) rather than per address (at bind: NIO).
   */
  final boolean portPerTarget;

  private final Map<InetSocketAddress, Target> targets = new ConcurrentHashMap<>();
  private final Map<SourceAddress, PortRing> rings = new ConcurrentHashMap<>();

  SourcePorts(int kernelLow, int kernelHigh, String kernelRangeSource, boolean portPerTarget) {
    if (kernelLow < 1 || kernelHigh > 65535 || kernelLow > kernelHigh) {
      throw new IllegalArgumentException(
          "localPortRange: "
              + kernelLow
              + "-"
              + kernelHigh
              + " (expected: LOW-HIGH with 1 <= LOW <= HIGH <= 65535)");
    }
    this.kernelLow = kernelLow;
    this.kernelHigh = kernelHigh;
    this.kernelRangeSource = kernelRangeSource;
    this.portPerTarget = portPerTarget;
  }

  /** Reads the kernel's range from {@link #RANGE_FILE}, or takes Linux's default. */
  static SourcePorts ofKernel(boolean portPerTarget) {
    try {
      String[] parts =
          new String(Files.readAllBytes(RANGE_FILE), StandardCharsets.US_ASCII)
              .trim()
              .split("\\s+");
      if (parts.length == 2) {
        return new SourcePorts(
            Integer.parseInt(parts[0]),
            Integer.parseInt(parts[1]),
            "net.ipv4.ip_local_port_range",
            portPerTarget);
      }
    } catch (IOException | RuntimeException e) {
      // not Linux, or /proc not mounted: Linux's default below
    }
    return new SourcePorts(
        LINUX_DEFAULT_LOW,
        LINUX_DEFAULT_HIGH,
        "Linux's default net.ipv4.ip_local_port_range (" + RANGE_FILE + " not readable)",
        portPerTarget);
  }

  /** Returns the number of ports in the kernel's ephemeral range. */
  int kernelRangeSize() {
    return kernelHigh - kernelLow + 1;
  }

  /** Returns the state of backend address and port {@code address}. */
  Target target(InetSocketAddress address) {
    Target t = targets.get(address);
    return t != null ? t : targets.computeIfAbsent(address, Target::new);
  }

  /** Returns every target seen so far. */
  Iterable<Target> targets() {
    return targets.values();
  }

  /** Returns the port ring of {@code source}, which has a port range; kept across reloads. */
  PortRing ring(SourceAddress source) {
    return rings.computeIfAbsent(source, PortRing::new);
  }

  /** Returns the connections open now from {@code source} to every target. */
  int openFrom(InetAddress source) {
    int n = 0;
    for (Target t : targets.values()) {
      Slot s = t.bySource.get(source);
      if (s != null) {
        n += s.open.get();
      }
    }
    return n;
  }

  /** Forgets targets with nothing open and no rule using them any more. */
  void retain(Set<String> rules) {
    targets.values().removeIf(t -> t.open() == 0 && !t.usedByAny(rules));
  }

  /**
   * Returns whether {@code cause} says no source port was free: {@code EADDRNOTAVAIL} ("Cannot
   * assign requested address": Netty's {@code Errors.NativeIoException} or {@code ConnectException}
   * on epoll and io_uring, {@link BindException} on NIO), or the proxy's own ring empty. With
   * {@code ownPort} (the proxy chose the port), {@code EADDRINUSE} at bind too: another socket
   * listens on it.
   */
  static boolean isExhaustion(Throwable cause, boolean ownPort) {
    Throwable t = cause;
    for (int depth = 0; t != null && depth < MAX_CAUSE_DEPTH; depth++, t = t.getCause()) {
      if (t instanceof SourcePortsExhaustedException) {
        return true;
      }
      String m = t.getMessage();
      if (m != null) {
        for (String s : EADDRNOTAVAIL_MESSAGES) {
          if (m.contains(s)) {
            return true;
          }
        }
        if (ownPort && m.contains("Address already in use")) {
          return true;
        }
      }
    }
    return false;
  }

  /** Whether a source of family {@code source} can reach {@code target}. */
  static boolean sameFamily(InetAddress source, InetAddress target) {
    return (source instanceof Inet4Address) == (target instanceof Inet4Address);
  }

  /** Connections open to one backend address and port from one local address. */
  static final class Slot {
    final AtomicInteger open = new AtomicInteger();

    /** A connect from this source to this target failed for want of a port; cleared by a close. */
    volatile boolean full;
  }

  /** One backend address and port. */
  static final class Target {
    final InetSocketAddress address;
    final Map<InetAddress, Slot> bySource = new ConcurrentHashMap<>();
    final Set<String> rules = ConcurrentHashMap.newKeySet();
    volatile String backend;
    final LongAdder exhaustionFailures = new LongAdder();

    /** Connects failed for want of a port since the last connect that succeeded. */
    final AtomicLong failingSinceSuccess = new AtomicLong();

    volatile String lastFailure;

    Target(InetSocketAddress address) {
      this.address = address;
    }

    /** Notes that {@code rule} connects to this target as backend {@code backend}. */
    void usedBy(String rule, String backendId) {
      if (!rules.contains(rule)) {
        rules.add(rule);
      }
      if (backend != backendId) { // the config's own strings: no equals needed, no write mostly
        backend = backendId;
      }
    }

    boolean usedByAny(Set<String> names) {
      for (String r : rules) {
        if (names.contains(r)) {
          return true;
        }
      }
      return false;
    }

    Slot slot(InetAddress source) {
      Slot s = bySource.get(source);
      return s != null ? s : bySource.computeIfAbsent(source, a -> new Slot());
    }

    /** A connect from {@code source} succeeded: one more open. Returns the slot to release. */
    Slot opened(InetAddress source) {
      Slot s = slot(source);
      s.open.incrementAndGet();
      if (s.full) {
        s.full = false;
      }
      if (failingSinceSuccess.get() != 0) {
        failingSinceSuccess.set(0);
      }
      return s;
    }

    /** A connect failed for want of a port; {@code source} is null when the kernel chose it. */
    void exhausted(InetAddress source, Throwable cause) {
      exhaustionFailures.increment();
      failingSinceSuccess.incrementAndGet();
      lastFailure = String.valueOf(cause.getMessage());
      if (source != null) {
        slot(source).full = true;
      }
    }

    int open() {
      int n = 0;
      for (Slot s : bySource.values()) {
        n += s.open.get();
      }
      return n;
    }
  }

  /**
   * The free ports of a source address with its own range, as HAProxy's {@code port_range}: a
   * connect takes the port free the longest (so a port's TIME_WAIT has the most time to end), its
   * close gives it back at the tail.
   */
  static final class PortRing {
    final SourceAddress source;
    private final int[] ports;
    private int head;
    private int free;

    PortRing(SourceAddress source) {
      this.source = source;
      this.ports = new int[source.portCount()];
      for (int i = 0; i < ports.length; i++) {
        ports[i] = source.lowPort() + i;
      }
      this.free = ports.length;
    }

    /** Returns a free port, or 0 when every port of the range is taken. */
    synchronized int take() {
      if (free == 0) {
        return 0;
      }
      int p = ports[head];
      head = (head + 1) % ports.length;
      free--;
      return p;
    }

    synchronized void give(int port) {
      ports[(head + free) % ports.length] = port;
      free++;
    }

    int size() {
      return ports.length;
    }

    synchronized int inUse() {
      return ports.length - free;
    }
  }

  /** The ports of a source address's own range are all taken: the connect is not attempted. */
  static final class SourcePortsExhaustedException extends IOException {
    private static final long serialVersionUID = 1L;

    SourcePortsExhaustedException(SourceAddress source) {
      super(
          "no free port in source "
              + source
              + " ("
              + source.portCount()
              + " ports, all held by open connections): Cannot assign requested address",
          null);
    }

    @Override
    public synchronized Throwable fillInStackTrace() {
      return this; // an expected condition, reported by count: no stack to walk
    }
  }

  /**
   * The source addresses of one rule, picked per connect: the one with the fewest connections to
   * the target (or the fewest ports taken, for an own range) among those of the target's family,
   * skipping one whose last connect to the target failed for want of a port, ties by turn.
   */
  static final class Picker {
    final SourceAddress[] sources;
    final PortRing[] rings; // null where the kernel picks the port
    final InetSocketAddress[] unbound; // address:0, built once, where the kernel picks the port
    private final AtomicInteger turn = new AtomicInteger();

    Picker(List<SourceAddress> list, SourcePorts ports) {
      int n = list.size();
      sources = list.toArray(new SourceAddress[0]);
      rings = new PortRing[n];
      unbound = new InetSocketAddress[n];
      for (int i = 0; i < n; i++) {
        if (sources[i].hasPortRange()) {
          rings[i] = ports.ring(sources[i]);
        } else {
          unbound[i] = new InetSocketAddress(sources[i].address(), 0);
        }
      }
    }

    /** Returns the index of the source for a connect to {@code target}, or -1 if none fits. */
    int pick(Target target) {
      int n = sources.length;
      int start = Math.floorMod(turn.getAndIncrement(), n);
      int best = -1;
      int bestUsed = Integer.MAX_VALUE;
      boolean bestFull = true;
      InetAddress to = target.address.getAddress();
      for (int k = 0; k < n; k++) {
        int i = (start + k) % n;
        if (!sameFamily(sources[i].address(), to)) {
          continue;
        }
        Slot s = target.bySource.get(sources[i].address());
        boolean full = s != null && s.full;
        int used = rings[i] != null ? rings[i].inUse() : (s == null ? 0 : s.open.get());
        if (rings[i] != null && used == rings[i].size()) {
          full = true;
        }
        if ((bestFull && !full) || (bestFull == full && used < bestUsed)) {
          best = i;
          bestUsed = used;
          bestFull = full;
        }
      }
      return best;
    }
  }
}
