package io.lb4j.proxy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lb4j.Durations;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The commands that ask a running proxy's admin endpoint: {@code report} prints the readable
 * diagnosis, {@code explain} where one flow goes, {@code reload} makes it re-read its file.
 */
final class AdminClient {
  private AdminClient() {}

  /**
   * Reads a duration option as the configuration file does: {@code 5s}, {@code PT5S}. Picocli puts
   * the option in front of a refusal: {@code Invalid value for option '--timeout': '5 seconds'
   * (expected: a duration such as 250ms, 5s, 4m, 1h, 1d or PT5S)}.
   */
  static final class DurationConverter implements CommandLine.ITypeConverter<Duration> {
    @Override
    public Duration convert(String value) {
      try {
        return Durations.parse("value", value);
      } catch (IllegalArgumentException e) {
        throw new CommandLine.TypeConversionException(e.getMessage().substring("value: ".length()));
      }
    }
  }

  /** Where the admin endpoint is, and how long to wait for it. */
  static class Target {
    @Option(
        names = "--admin",
        paramLabel = "HOST:PORT",
        defaultValue = "127.0.0.1:9901",
        description = "The proxy's admin endpoint (default: ${DEFAULT-VALUE}).")
    String admin;

    @Option(
        names = "--timeout",
        paramLabel = "DURATION",
        defaultValue = "15s",
        converter = DurationConverter.class,
        description =
            "How long to wait for the answer: 250ms, 5s, 4m or PT5S (default: ${DEFAULT-VALUE}).")
    Duration timeout;

    @Option(
        names = "--token",
        paramLabel = "TOKEN",
        defaultValue = "${env:LB4J_ADMIN_TOKEN}",
        description =
            "The admin.token of the proxy's file, sent as "
                + AdminServer.TOKEN_HEADER
                + " (default: the environment variable LB4J_ADMIN_TOKEN).")
    String token;

    /** GETs {@code path}; prints why and returns null when the endpoint cannot be reached. */
    HttpResponse<String> get(String path, PrintWriter err) {
      return send(path, false, err);
    }

    /**
     * Sends {@code path} as GET, or as POST with {@code Content-Type: application/json} and the
     * token when there is one (what the endpoint asks of a state-changing request); prints why and
     * returns null when the endpoint cannot be reached.
     */
    HttpResponse<String> send(String path, boolean post, PrintWriter err) {
      URI uri;
      try {
        uri = URI.create("http://" + admin + path);
      } catch (IllegalArgumentException e) {
        err.println("--admin: '" + admin + "' (expected: HOST:PORT such as 127.0.0.1:9901)");
        return null;
      }
      HttpClient client = HttpClient.newBuilder().connectTimeout(timeout).build();
      try {
        HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(timeout);
        if (post) {
          request
              .header("Content-Type", "application/json")
              .POST(HttpRequest.BodyPublishers.ofString("{}"));
        }
        if (token != null && !token.isEmpty()) {
          request.header(AdminServer.TOKEN_HEADER, token);
        }
        return client.send(
            request.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
      } catch (IOException e) {
        err.println(
            "lb4j-proxy: cannot reach the admin endpoint at "
                + admin
                + " ("
                + e
                + "); is the proxy running with admin enabled?");
        return null;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return null;
      }
    }
  }

  /** {@code lb4j-proxy report}: the readable diagnosis of a running proxy. */
  @Command(
      name = "report",
      mixinStandardHelpOptions = true,
      description =
          "Prints a running proxy's backends, health, share of flows and diagnosis findings.")
  static final class Report extends Target implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      HttpResponse<String> r = get("/report", err);
      if (r == null) {
        return ProxyMain.RUNTIME_ERROR;
      }
      if (r.statusCode() != 200) {
        err.println(
            "lb4j-proxy: " + admin + "/report answered " + r.statusCode() + ": " + r.body());
        return ProxyMain.RUNTIME_ERROR;
      }
      out.print(r.body());
      out.flush();
      return 0;
    }
  }

  /** {@code lb4j-proxy reload}: a running proxy re-reads its file ({@code POST /reload}). */
  @Command(
      name = "reload",
      mixinStandardHelpOptions = true,
      description =
          "Makes a running proxy re-read its configuration file; prints why when it refuses.")
  static final class Reload extends Target implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Override
    public Integer call() throws IOException {
      PrintWriter out = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      HttpResponse<String> r = send("/reload", true, err);
      if (r == null) {
        return ProxyMain.RUNTIME_ERROR;
      }
      if (r.statusCode() == 200) {
        out.println("lb4j-proxy: " + admin + " reloaded");
        out.flush();
        return 0;
      }
      String error;
      try {
        error = new ObjectMapper().readTree(r.body()).path("error").asText(r.body());
      } catch (IOException notJson) {
        error = r.body();
      }
      // a file with several errors: one a line, as --check prints them
      String sep = error.contains("\n") ? ":\n" : ": ";
      err.println("lb4j-proxy reload: " + admin + " answered " + r.statusCode() + sep + error);
      return r.statusCode() == 400 ? ProxyMain.CONFIG_ERROR : ProxyMain.RUNTIME_ERROR;
    }
  }

  /** {@code lb4j-proxy explain}: where one flow goes and why. */
  @Command(
      name = "explain",
      mixinStandardHelpOptions = true,
      description = "Explains where a flow goes through a running proxy, and why.")
  static final class Explain extends Target implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(
        names = "--src",
        required = true,
        paramLabel = "IP:PORT",
        description = "The client's address and port.")
    String src;

    @Option(
        names = "--dst",
        required = true,
        paramLabel = "IP:PORT",
        description = "The frontend address and port the flow arrives on.")
    String dst;

    @Option(
        names = "--protocol",
        defaultValue = "tcp",
        description = "tcp or udp (default: ${DEFAULT-VALUE}).")
    String protocol;

    @Override
    public Integer call() throws IOException {
      PrintWriter out = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      HttpResponse<String> r =
          get(
              "/explain?src="
                  + URLEncoder.encode(src, StandardCharsets.UTF_8)
                  + "&dst="
                  + URLEncoder.encode(dst, StandardCharsets.UTF_8)
                  + "&protocol="
                  + URLEncoder.encode(protocol, StandardCharsets.UTF_8),
              err);
      if (r == null) {
        return ProxyMain.RUNTIME_ERROR;
      }
      JsonNode body = new ObjectMapper().readTree(r.body());
      if (r.statusCode() == 400) {
        err.println("lb4j-proxy explain: " + body.path("error").asText());
        return ProxyMain.CONFIG_ERROR;
      }
      if (r.statusCode() != 200) {
        err.println("lb4j-proxy: " + admin + " answered " + r.statusCode() + ": " + r.body());
        return ProxyMain.RUNTIME_ERROR;
      }
      out.print(body.path("text").asText());
      out.flush();
      return 0;
    }
  }
}
