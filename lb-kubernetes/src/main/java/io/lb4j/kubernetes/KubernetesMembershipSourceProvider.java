package io.lb4j.kubernetes;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.lb4j.discovery.MembershipSourceProvider;
import io.lb4j.discovery.SourceSettings;
import java.io.File;
import java.net.URI;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

/**
 * Makes {@link KubernetesMembershipSource}s of type {@code kubernetes} from a pool's {@code
 * discovery:} block:
 *
 * <pre>{@code
 * discovery:
 *   type: kubernetes
 *   service: web          # required: the Service's name
 *   port: http            # required: a Service port's name, or the endpoints' port number
 *   namespace: shop       # default: the client's namespace (the pod's own, or kubeconfig's)
 *   addressType: IPv4     # optional: IPv4 or IPv6 only (default: both)
 *   kubeconfig: /etc/lb4j/kubeconfig  # optional: this file instead of auto-configuration
 *   context: prod         # optional: a context of that kubeconfig (or of the default one)
 *   masterUrl: https://10.0.0.1:6443  # optional: the API server, instead of the configured one
 * }</pre>
 *
 * <p>Without {@code kubeconfig}, fabric8's auto-configuration applies: in a pod, its service
 * account's token, CA and namespace; elsewhere {@code $KUBECONFIG} or {@code ~/.kube/config}. The
 * files are read when the source is made; nothing connects before it starts.
 *
 * <p>Thread-safe: stateless.
 */
public final class KubernetesMembershipSourceProvider implements MembershipSourceProvider {
  private static final Set<String> KNOWN =
      new TreeSet<>(
          List.of(
              "service", "port", "namespace", "addressType", "kubeconfig", "context", "masterUrl"));

  /** For {@link java.util.ServiceLoader}. */
  public KubernetesMembershipSourceProvider() {}

  /** Returns {@code kubernetes}. */
  @Override
  public String type() {
    return "kubernetes";
  }

  /**
   * Returns a source for {@code pool} from {@code settings}; nothing is started.
   *
   * @throws IllegalArgumentException naming the setting, its value and what was expected
   */
  @Override
  public KubernetesMembershipSource create(String pool, Map<String, Object> settings) {
    Objects.requireNonNull(pool, "pool");
    Objects.requireNonNull(settings, "settings");
    SourceSettings.checkKnown(settings, List.copyOf(KNOWN));
    KubernetesMembershipSource.Builder b = KubernetesMembershipSource.builder();
    b.service(required(settings, "service"));
    b.port(port(settings.get("port")));
    String namespace = string(settings, "namespace");
    if (namespace != null) {
      b.namespace(namespace);
    }
    String addressType = string(settings, "addressType");
    if (addressType != null) {
      b.addressType(KubernetesMembershipSource.AddressType.of(addressType));
    }
    b.config(config(settings));
    return b.build();
  }

  private static Config config(Map<String, Object> settings) {
    String kubeconfig = string(settings, "kubeconfig");
    String context = string(settings, "context");
    String masterUrl = string(settings, "masterUrl");
    Config config;
    if (kubeconfig != null) {
      File file = new File(kubeconfig);
      if (!file.isFile() || !file.canRead()) {
        throw new IllegalArgumentException(
            "kubeconfig: '" + kubeconfig + "' (expected: a readable kubeconfig file)");
      }
      try {
        config = Config.fromKubeconfig(context, file);
      } catch (RuntimeException e) {
        config = null;
        if (context == null) {
          throw new IllegalArgumentException(
              "kubeconfig: '"
                  + kubeconfig
                  + "' cannot be used: "
                  + e.getMessage()
                  + " (expected: a kubeconfig with a current context)",
              e);
        }
      }
      if (config == null || (context != null && !context.equals(currentContext(config)))) {
        throw new IllegalArgumentException(
            "kubeconfig: '"
                + kubeconfig
                + "' context '"
                + context
                + "' (expected: one of its contexts"
                + (config == null ? "" : ", " + contextNames(config))
                + ")");
      }
    } else {
      config = Config.autoConfigure(context);
      if (context != null && !context.equals(currentContext(config))) {
        throw new IllegalArgumentException(
            "context: '"
                + context
                + "' (expected: a context of the kubeconfig fabric8 found, "
                + Config.getKubeconfigFilenames()
                + "; or set kubeconfig)");
      }
    }
    if (masterUrl != null) {
      URI uri;
      try {
        uri = URI.create(masterUrl);
      } catch (IllegalArgumentException e) {
        uri = null;
      }
      if (uri == null
          || !("https".equals(uri.getScheme()) || "http".equals(uri.getScheme()))
          || uri.getHost() == null) {
        throw new IllegalArgumentException(
            "masterUrl: '"
                + masterUrl
                + "' (expected: the API server's URL, https://host:port or http://host:port)");
      }
      config = new ConfigBuilder(config).withMasterUrl(masterUrl).build();
    }
    return config;
  }

  private static List<String> contextNames(Config config) {
    return config.getContexts() == null
        ? List.of()
        : config.getContexts().stream().map(c -> c.getName()).sorted().toList();
  }

  private static String currentContext(Config config) {
    return config.getCurrentContext() == null ? null : config.getCurrentContext().getName();
  }

  private static String port(Object value) {
    if (value == null) {
      throw new IllegalArgumentException(
          "port: missing (expected: a port number 1-65535, or the name of a Service port)");
    }
    if (value instanceof Integer || value instanceof Long || value instanceof Short) {
      long n = ((Number) value).longValue();
      if (n < 1 || n > 65535) {
        throw new IllegalArgumentException(
            "port: " + n + " (expected: a port number 1-65535, or the name of a Service port)");
      }
      return Long.toString(n);
    }
    if (value instanceof String s) {
      return s;
    }
    throw new IllegalArgumentException(
        "port: "
            + value
            + " ("
            + kind(value)
            + "; expected: a port number 1-65535, or the name of a Service port)");
  }

  private static String required(Map<String, Object> settings, String key) {
    String s = string(settings, key);
    if (s == null) {
      throw new IllegalArgumentException(key + ": missing (expected: the Service's name)");
    }
    return s;
  }

  private static String string(Map<String, Object> settings, String key) {
    Object v = settings.get(key);
    if (v == null) {
      return null;
    }
    if (v instanceof String s) {
      return s;
    }
    throw new IllegalArgumentException(key + ": " + v + " (" + kind(v) + "; expected: a string)");
  }

  /** Returns what a YAML value is, for a message: {@code a list}. */
  private static String kind(Object v) {
    if (v instanceof Number) {
      return "a number";
    } else if (v instanceof Boolean) {
      return "a boolean";
    } else if (v instanceof List<?>) {
      return "a list";
    } else if (v instanceof Map<?, ?>) {
      return "a map";
    }
    return "a " + v.getClass().getSimpleName();
  }
}
