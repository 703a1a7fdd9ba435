package io.lb4j.proxy;

import java.io.PrintWriter;
import java.io.StringWriter;
import picocli.CommandLine;

/** Runs {@code lb4j-proxy} commands in the test's JVM, capturing what they print. */
final class ProxyCli {
  private ProxyCli() {}

  /** Runs {@code args} as the command line would; returns the exit code. */
  static int run(StringWriter out, StringWriter err, String... args) {
    CommandLine cli = new CommandLine(new ProxyMain());
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    return cli.execute(args);
  }
}
