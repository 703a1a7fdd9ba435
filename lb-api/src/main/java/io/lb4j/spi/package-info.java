/** The service-provider interface of lb4j: what a custom selection algorithm implements. */
package io.lb4j.spi;
