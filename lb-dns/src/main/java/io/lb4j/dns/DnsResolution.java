package io.lb4j.dns;

import io.lb4j.discovery.Member;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.CNAMERecord;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.SRVRecord;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/**
 * One resolution of a {@link DnsMembershipSource}: the queries that turn a name into a complete
 * member list and the TTL it holds for, or the reason there is none.
 *
 * <ul>
 *   <li>{@code A}, {@code AAAA}: one query; every address in the answer (at the end of its CNAME
 *       chain) a member at the configured port, weight 1. NXDOMAIN, any other error code, no
 *       response, or NOERROR without records (NODATA) is a failure.
 *   <li>{@code A_AAAA}: both queries; a family without records is fine when the other has some. An
 *       error or no response to either fails the whole resolution: half an answer would remove the
 *       other half's members.
 *   <li>{@code SRV}: one query, then the priority tiers lowest number first (RFC 2782: a client
 *       must try the lowest-numbered priority it can reach); the first tier whose targets have an
 *       address is the answer, its other tiers unused. A target's addresses come from the
 *       response's additional section when it holds any for the target, else from A and AAAA
 *       queries; a target without addresses (NXDOMAIN, NODATA) is skipped, one whose query fails
 *       fails the resolution. Weight 0 becomes 1 (RFC 2782 gives weight-0 records "a very small
 *       chance" next to heavier ones; lb4j's weight 0 would be none). The weight is the target
 *       host's, so a target with k addresses (dual-stack: an A and an AAAA) shares it among them:
 *       every weight of the tier is multiplied by the least common multiple L of the targets'
 *       address counts and each address gets {@code weight * L / k} — exact while that fits in
 *       65535, the largest member weight, and unchanged when every target has one address. One
 *       {@code ip:port} reached through two records gets the sum, capped at 65535. A lone record
 *       whose target is {@code .} ("decidedly not available") answers an explicitly empty list.
 * </ul>
 *
 * <p>The TTL is the smallest of every record the answer used (CNAMEs, SRV records, addresses) and,
 * for an empty family of {@code A_AAAA}, the negative-caching TTL of the response's SOA (RFC 2308,
 * section 5), when it has one.
 *
 * <p>Immutable and thread-safe when its querier is; each {@link #resolve()} blocks its caller for
 * at most the querier's timeout per query.
 */
final class DnsResolution {

  /** CNAME hops followed inside one response before giving up on the chain. */
  private static final int MAX_CNAME_HOPS = 16;

  /** The largest member weight ({@link Member}). */
  static final int MAX_WEIGHT = 65535;

  private final DnsQuerier querier;
  private final Name name;
  private final DnsRecordType record;
  private final int port;
  private final String server;

  /**
   * @param port the members' port for A/AAAA, ignored for SRV
   * @param server the resolver's address as the reasons name it
   */
  DnsResolution(DnsQuerier querier, Name name, DnsRecordType record, int port, String server) {
    this.querier = querier;
    this.name = name;
    this.record = record;
    this.port = port;
    this.server = server;
  }

  /** What one resolution gave. */
  sealed interface Outcome permits Answer, Failure {}

  /**
   * A complete answer.
   *
   * @param members every member, sorted by id, ids unique
   * @param ttlSeconds the smallest TTL of the records used
   */
  record Answer(List<Member> members, long ttlSeconds) implements Outcome {
    Answer {
      members = List.copyOf(members);
    }
  }

  /**
   * No answer.
   *
   * @param reason the name, the record type, the server and the response code or the error
   */
  record Failure(String reason) implements Outcome {}

  /** Resolves once, on the calling thread. */
  Outcome resolve() {
    return switch (record) {
      case A -> addresses(List.of(Type.A));
      case AAAA -> addresses(List.of(Type.AAAA));
      case A_AAAA -> addresses(List.of(Type.A, Type.AAAA));
      case SRV -> srv();
    };
  }

  private Outcome addresses(List<Integer> types) {
    Map<String, Member> members = new LinkedHashMap<>();
    long ttl = Long.MAX_VALUE;
    long negativeTtl = Long.MAX_VALUE;
    List<String> empty = new ArrayList<>();
    for (int type : types) {
      Reply r = ask(name, type);
      switch (r.kind) {
        case DATA -> {
          ttl = Math.min(ttl, r.ttl);
          for (Record rec : r.records) {
            InetAddress a = address(rec);
            members.putIfAbsent(Member.idOf(a, port), Member.of(a, port));
          }
        }
        case NODATA -> {
          empty.add(r.problem);
          negativeTtl = Math.min(negativeTtl, r.ttl);
        }
        default -> {
          return new Failure(r.problem);
        }
      }
    }
    if (members.isEmpty()) {
      return new Failure(String.join("; ", empty));
    }
    return new Answer(sorted(members), Math.min(ttl, negativeTtl));
  }

  private Outcome srv() {
    Reply r = ask(name, Type.SRV);
    if (r.kind != Kind.DATA) {
      return new Failure(r.problem);
    }
    long ttl = r.ttl;
    TreeMap<Integer, List<SRVRecord>> tiers = new TreeMap<>();
    for (Record rec : r.records) {
      SRVRecord srv = (SRVRecord) rec;
      if (!srv.getTarget().equals(Name.root)) {
        tiers.computeIfAbsent(srv.getPriority(), p -> new ArrayList<>()).add(srv);
      }
    }
    if (tiers.isEmpty()) { // only "." targets: the service is decidedly not available here
      return new Answer(List.of(), ttl);
    }
    Map<Name, Addresses> byTarget = new HashMap<>();
    Set<String> tried = new LinkedHashSet<>();
    for (List<SRVRecord> tier : tiers.values()) {
      long tierTtl = ttl;
      long scale = 1; // the lcm of the targets' address counts, so a host's share stays its own
      for (SRVRecord srv : tier) {
        Name target = srv.getTarget();
        tried.add(text(target));
        Addresses addresses = byTarget.get(target);
        if (addresses == null) {
          addresses = targetAddresses(target, r.additional);
          if (addresses.failure != null) {
            return addresses.failure;
          }
          byTarget.put(target, addresses);
        }
        if (!addresses.list.isEmpty()) {
          tierTtl = Math.min(tierTtl, addresses.ttl);
          scale = Math.min(MAX_WEIGHT, lcm(scale, addresses.list.size()));
        }
      }
      Map<String, Member> members = new LinkedHashMap<>();
      for (SRVRecord srv : tier) {
        List<InetAddress> addresses = byTarget.get(srv.getTarget()).list;
        if (addresses.isEmpty()) {
          continue;
        }
        long share = Math.max(1, srv.getWeight()) * scale / addresses.size();
        int weight = (int) Math.max(1, Math.min(MAX_WEIGHT, share));
        for (InetAddress a : addresses) {
          Member m = Member.of(a, srv.getPort()).withWeight(weight);
          members.merge(
              m.id(), m, (x, y) -> x.withWeight(Math.min(MAX_WEIGHT, x.weight() + y.weight())));
        }
      }
      if (!members.isEmpty()) {
        return new Answer(sorted(members), tierTtl);
      }
    }
    return new Failure(
        describe(name, Type.SRV)
            + ": NOERROR but none of the targets has an address (targets: "
            + String.join(", ", tried)
            + ")");
  }

  private static long lcm(long a, long b) {
    long x = a;
    long y = b;
    while (y != 0) {
      long t = x % y;
      x = y;
      y = t;
    }
    return a / x * b;
  }

  /** A target's addresses, from the additional section when it has them, else by asking. */
  private Addresses targetAddresses(Name target, List<Record> additional) {
    List<InetAddress> list = new ArrayList<>();
    long ttl = Long.MAX_VALUE;
    for (Record rec : additional) {
      if ((rec.getType() == Type.A || rec.getType() == Type.AAAA) && rec.getName().equals(target)) {
        list.add(address(rec));
        ttl = Math.min(ttl, rec.getTTL());
      }
    }
    if (!list.isEmpty()) {
      return new Addresses(distinct(list), ttl, null);
    }
    for (int type : new int[] {Type.A, Type.AAAA}) {
      Reply r = ask(target, type);
      switch (r.kind) {
        case DATA -> {
          ttl = Math.min(ttl, r.ttl);
          for (Record rec : r.records) {
            list.add(address(rec));
          }
        }
        case NODATA, NXDOMAIN -> {
          // this family or this target has no address: the target contributes no member
        }
        default -> {
          return new Addresses(
              List.of(),
              0,
              new Failure(r.problem + " (a target of " + describe(name, Type.SRV) + ")"));
        }
      }
    }
    return new Addresses(distinct(list), ttl, null);
  }

  /** Asks once and classifies the response. */
  private Reply ask(Name qname, int type) {
    Message response;
    try {
      response = querier.query(qname, type);
    } catch (IOException e) {
      return Reply.problem(
          Kind.NO_RESPONSE, describe(qname, type) + ": no response (" + why(e) + ")");
    }
    int rcode = response.getRcode();
    if (rcode == Rcode.NXDOMAIN) {
      return Reply.problem(
          Kind.NXDOMAIN, describe(qname, type) + ": NXDOMAIN (the name does not exist)");
    }
    if (rcode != Rcode.NOERROR) {
      return Reply.problem(Kind.ERROR, describe(qname, type) + ": " + Rcode.string(rcode));
    }
    List<Record> answer = response.getSection(Section.ANSWER);
    Name owner = qname;
    long ttl = Long.MAX_VALUE;
    for (int hop = 0; hop < MAX_CNAME_HOPS; hop++) {
      CNAMERecord cname = null;
      for (Record rec : answer) {
        if (rec.getType() == Type.CNAME && rec.getName().equals(owner)) {
          cname = (CNAMERecord) rec;
          break;
        }
      }
      if (cname == null) {
        break;
      }
      ttl = Math.min(ttl, cname.getTTL());
      owner = cname.getTarget();
    }
    List<Record> records = new ArrayList<>();
    for (Record rec : answer) {
      if (rec.getType() == type && rec.getName().equals(owner)) {
        records.add(rec);
        ttl = Math.min(ttl, rec.getTTL());
      }
    }
    if (records.isEmpty()) {
      long negative = Long.MAX_VALUE;
      for (Record rec : response.getSection(Section.AUTHORITY)) {
        if (rec instanceof SOARecord soa) {
          negative = Math.min(negative, Math.min(soa.getTTL(), soa.getMinimum()));
        }
      }
      return new Reply(
          Kind.NODATA,
          List.of(),
          List.of(),
          negative,
          describe(qname, type)
              + ": NOERROR but no "
              + Type.string(type)
              + " records (NODATA)"
              + (owner.equals(qname) ? "" : " at the end of its CNAME chain, " + text(owner)));
    }
    return new Reply(
        Kind.DATA, records, response.getSection(Section.ADDITIONAL), ttl, /* problem= */ null);
  }

  /** {@code web.test A via 127.0.0.53:5353}. */
  private String describe(Name qname, int type) {
    return text(qname) + " " + Type.string(type) + " via " + server;
  }

  /** A name without its trailing dot: {@code web.test}. */
  static String text(Name n) {
    return n.toString(true);
  }

  /** The querier's reason, or the exception's class and message when it gave none. */
  private static String why(IOException e) {
    Throwable t = e;
    while (t.getMessage() == null && t.getCause() != null) {
      t = t.getCause();
    }
    return t.getMessage() != null && t == e
        ? t.getMessage()
        : t.getClass().getSimpleName() + (t.getMessage() == null ? "" : ": " + t.getMessage());
  }

  /** The record's address, without the owner name dnsjava attaches to it. */
  private static InetAddress address(Record rec) {
    byte[] bytes =
        rec instanceof ARecord a
            ? a.getAddress().getAddress()
            : ((AAAARecord) rec).getAddress().getAddress();
    try {
      return InetAddress.getByAddress(bytes);
    } catch (UnknownHostException e) {
      throw new AssertionError("4 or 16 bytes: " + bytes.length, e); // cannot happen
    }
  }

  private static List<InetAddress> distinct(List<InetAddress> list) {
    return List.copyOf(new LinkedHashSet<>(list));
  }

  private static List<Member> sorted(Map<String, Member> members) {
    List<Member> out = new ArrayList<>(members.values());
    out.sort(java.util.Comparator.comparing(Member::id));
    return out;
  }

  private enum Kind {
    DATA,
    NODATA,
    NXDOMAIN,
    ERROR,
    NO_RESPONSE
  }

  /** One response, classified: its records of the type asked, the smallest TTL, or the problem. */
  private record Reply(
      Kind kind, List<Record> records, List<Record> additional, long ttl, String problem) {
    static Reply problem(Kind kind, String problem) {
      return new Reply(kind, List.of(), List.of(), 0, problem);
    }
  }

  /** A target's distinct addresses and their smallest TTL, or why they could not be had. */
  private record Addresses(List<InetAddress> list, long ttl, Failure failure) {}
}
