/**
 * The op graph of a decoder, the one definition of a model's forward pass: {@link
 * dev.kiln.ir.GraphBuilder} turns a spec into a {@link dev.kiln.ir.Graph} of {@link
 * dev.kiln.ir.Op}s over {@link dev.kiln.ir.Value}s. The reference {@link
 * dev.kiln.interpreter.Interpreter} evaluates it op by op; the annotation processor's fusion passes
 * group its ops into the kernels every backend emits.
 */
package dev.kiln.ir;
