package io.lb4j.dns;

import io.lb4j.IpLiteral;
import java.io.IOException;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.CNAMERecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.SRVRecord;
import org.xbill.DNS.Section;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;

/**
 * A {@link DnsQuerier} that answers from a script: responses built with dnsjava's own records, set
 * per name and type and changeable between queries; every query is recorded. A query the script has
 * no response for is answered NXDOMAIN.
 *
 * <p>Thread-safe.
 */
final class ScriptedDns implements DnsQuerier {

  /** A scripted response: a message, or an exception to throw. */
  private record Scripted(Message message, IOException error) {}

  private final Map<String, Scripted> responses = new HashMap<>();
  private final List<String> queries = new ArrayList<>();

  @Override
  public synchronized Message query(Name name, int type) throws IOException {
    String key = key(name, type);
    queries.add(key);
    Scripted s = responses.get(key);
    if (s == null) {
      return response(name, type, Rcode.NXDOMAIN);
    }
    if (s.error != null) {
      throw s.error;
    }
    return s.message.clone();
  }

  /** Answers {@code name}'s {@code type} query with {@code answer} and {@code additional}. */
  synchronized ScriptedDns answer(
      String name, int type, List<Record> answer, Record... additional) {
    Message m = response(name(name), type, Rcode.NOERROR);
    for (Record r : answer) {
      m.addRecord(r, Section.ANSWER);
    }
    for (Record r : additional) {
      m.addRecord(r, Section.ADDITIONAL);
    }
    responses.put(key(name(name), type), new Scripted(m, null));
    return this;
  }

  /** Answers {@code name}'s {@code type} query with {@code rcode} and no records. */
  synchronized ScriptedDns rcode(String name, int type, int rcode) {
    responses.put(key(name(name), type), new Scripted(response(name(name), type, rcode), null));
    return this;
  }

  /** Answers NOERROR without records, with an SOA whose minimum is {@code negativeTtl}. */
  synchronized ScriptedDns nodata(String name, int type, long negativeTtl) {
    Message m = response(name(name), type, Rcode.NOERROR);
    m.addRecord(
        new SOARecord(
            name("test"),
            DClass.IN,
            3600,
            name("ns.test"),
            name("admin.test"),
            1,
            60,
            60,
            60,
            negativeTtl),
        Section.AUTHORITY);
    responses.put(key(name(name), type), new Scripted(m, null));
    return this;
  }

  /** Throws {@code error} for {@code name}'s {@code type} query. */
  synchronized ScriptedDns fail(String name, int type, IOException error) {
    responses.put(key(name(name), type), new Scripted(null, error));
    return this;
  }

  /** Returns the queries so far, {@code web.test. A}, and forgets them. */
  synchronized List<String> takeQueries() {
    List<String> out = List.copyOf(queries);
    queries.clear();
    return out;
  }

  static ARecord a(String name, long ttl, String ip) {
    return new ARecord(name(name), DClass.IN, ttl, ip(ip));
  }

  static AAAARecord aaaa(String name, long ttl, String ip) {
    return new AAAARecord(name(name), DClass.IN, ttl, ip(ip));
  }

  static CNAMERecord cname(String name, long ttl, String target) {
    return new CNAMERecord(name(name), DClass.IN, ttl, name(target));
  }

  static SRVRecord srv(String name, long ttl, int priority, int weight, int port, String target) {
    return new SRVRecord(name(name), DClass.IN, ttl, priority, weight, port, name(target));
  }

  static Name name(String s) {
    try {
      return Name.fromString(s, Name.root);
    } catch (TextParseException e) {
      throw new IllegalArgumentException(s, e);
    }
  }

  private static InetAddress ip(String s) {
    return IpLiteral.parse(s);
  }

  private static String key(Name name, int type) {
    return name + " " + Type.string(type);
  }

  private static Message response(Name name, int type, int rcode) {
    Message m = Message.newQuery(Record.newRecord(name, type, DClass.IN));
    m.getHeader().setFlag(Flags.QR);
    m.getHeader().setFlag(Flags.RA);
    m.getHeader().setRcode(rcode);
    return m;
  }
}
