/**
 * lb4j for JDBC drivers: {@link io.lb4j.jdbc.BalancedSocketFactory}, a {@code
 * javax.net.SocketFactory} that a socket-based driver (PostgreSQL's pgjdbc) instantiates by class
 * name, so that each new database connection is balanced, retried on another server when one
 * refuses, and held as a lease for its life.
 */
package io.lb4j.jdbc;
