/** The flow table: connection tracking that pins each flow to its backend. */
package io.lb4j.core.flow;
