package io.lb4j.kubernetes;

import io.fabric8.kubernetes.api.model.discovery.v1.EndpointPort;

/**
 * Which of an EndpointSlice's ports a source takes: by the Service port's name ({@code http}), or
 * by number ({@code 8080}), the number the endpoints listen on (the Service's {@code targetPort} as
 * resolved for them, which is what a slice lists, not the Service's own {@code port}).
 *
 * <p>Instances are immutable and thread-safe.
 *
 * @param name the port's name, or null when chosen by number
 * @param number the port's number, 1-65535, or 0 when chosen by name
 */
record PortRef(String name, int number) {

  /** Validates the fields. */
  PortRef {
    if (name != null && number != 0) {
      throw new IllegalArgumentException(
          "port: name '" + name + "' and number " + number + " (expected: a name or a number)");
    }
    if (name != null) {
      KubernetesNames.portName("port", name);
    } else if (number < 1 || number > 65535) {
      throw new IllegalArgumentException(
          "port: " + number + " (expected: a port number 1-65535, or the name of a Service port)");
    }
  }

  /** Returns the port named {@code name}. */
  static PortRef named(String name) {
    return new PortRef(name, 0);
  }

  /** Returns the port numbered {@code number}. */
  static PortRef numbered(int number) {
    return new PortRef(null, number);
  }

  /**
   * Returns the port {@code text} names: a number when it is all digits, else a name. (Kubernetes
   * allows a port name of digits only; such a port is chosen by its number.)
   */
  static PortRef parse(String text) {
    if (text != null && !text.isEmpty() && text.chars().allMatch(c -> c >= '0' && c <= '9')) {
      if (text.length() > 5 || Integer.parseInt(text) > 65535) {
        throw new IllegalArgumentException(
            "port: " + text + " (expected: a port number 1-65535, or the name of a Service port)");
      }
      return numbered(Integer.parseInt(text));
    }
    return named(KubernetesNames.portName("port", text));
  }

  /** Returns whether a slice's port {@code p} is this one. */
  boolean matches(EndpointPort p) {
    if (name != null) {
      return name.equals(p.getName());
    }
    return p.getPort() != null && p.getPort() == number;
  }

  /** Returns {@code 'http'} or {@code 8080}. */
  @Override
  public String toString() {
    return name != null ? "'" + name + "'" : Integer.toString(number);
  }
}
