package dev.kiln.cli;

import dev.kiln.Decoder;
import dev.kiln.KilnException;
import dev.kiln.interpreter.Interpreter;
import dev.kiln.model.KilnModel;
import dev.kiln.model.Specializer;
import dev.kiln.model.TornadoBridge;
import dev.kiln.spec.ResolvedSpec;
import dev.kiln.weights.Checkpoint;
import dev.kiln.weights.ModelFiles;
import dev.kiln.weights.Weights;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * A model file opened for running: its checkpoint, the spec it is run with, its weights and a
 * decoder.
 */
record LoadedModel(
    Path file,
    Checkpoint checkpoint,
    ModelFiles.DerivedSpec derived,
    ResolvedSpec spec,
    Weights weights,
    Decoder decoder,
    String backend) {

  /** Positions a decoder holds when the user does not say: the file's context, up to this many. */
  static final int DEFAULT_CONTEXT_LIMIT = 4096;

  /**
   * Opens {@code file}, derives its spec (with {@code context} positions, or the file's up to
   * {@value #DEFAULT_CONTEXT_LIMIT}, and {@code batch} sequences), maps its weights and builds the
   * decoder of {@code backend}: {@code java} (specialized to the spec, compiled once and cached),
   * {@code interpreter} (the reference), or {@code tornado} (the TornadoVM decoder, or the Java one
   * with a warning to {@code warn} where TornadoVM cannot run); none for a null backend. {@code
   * overrides} supply what a llama2.c file does not store (rope theta, RMSNorm epsilon).
   */
  static LoadedModel open(
      Path file,
      Kiln.SpecOverrides overrides,
      Integer context,
      int batch,
      String backend,
      Path cache,
      Consumer<String> progress,
      Consumer<String> warn) {
    return open(file, overrides, context, batch, backend, cache, progress, warn, spec -> {});
  }

  /**
   * As {@link #open(Path, Kiln.SpecOverrides, Integer, int, String, Path, Consumer, Consumer)},
   * with {@code check} run on the spec before the weights are mapped and the decoder built (a
   * prompt's token ids against the vocabulary and context, before any compiling); a decoder's KV
   * cache is checked against the Java heap then too.
   */
  static LoadedModel open(
      Path file,
      Kiln.SpecOverrides overrides,
      Integer context,
      int batch,
      String backend,
      Path cache,
      Consumer<String> progress,
      Consumer<String> warn,
      Consumer<ResolvedSpec> check) {
    if (!Files.exists(file)) {
      throw new KilnException(file + ": no such file or folder");
    }
    if (!Files.isReadable(file)) {
      throw new KilnException(file + ": not readable");
    }
    long start = System.nanoTime();
    Checkpoint checkpoint = ModelFiles.open(file);
    ModelFiles.DerivedSpec derived = overrides.derive(checkpoint);
    int fileContext = derived.spec().maxPositionEmbeddings();
    int positions = context != null ? context : Math.min(fileContext, DEFAULT_CONTEXT_LIMIT);
    if (positions < 1) {
      throw new KilnException("--context must be positive, was " + positions);
    }
    if (positions > fileContext) {
      throw new KilnException(
          "--context " + positions + " is longer than the model's context (" + fileContext + ")");
    }
    if (context == null && positions < fileContext) {
      progress.accept(
          String.format(
              Locale.ROOT,
              "context %d positions (the model allows %d; --context N for more)",
              positions,
              fileContext));
    }
    ResolvedSpec spec =
        derived.spec().toBuilder().maxPositionEmbeddings(positions).maxBatchSize(batch).build();
    check.accept(spec);
    if (backend != null) {
      KilnModel.checkHeap(
          spec, Runtime.getRuntime()); // before a long compile that would end out of memory
    }
    Weights weights = Weights.from(spec, checkpoint);
    progress.accept(
        String.format(
            Locale.ROOT,
            "loaded %s (%s) in %.2f s",
            file.getFileName(),
            checkpoint.format(),
            (System.nanoTime() - start) / 1e9));
    String chosen = backend == null ? null : backendOrFallback(backend, warn);
    Decoder decoder =
        chosen == null
            ? null
            : switch (chosen) {
              case "java" -> new Specializer(cache, progress).specialize(spec).create(weights);
              case "interpreter" -> new Interpreter(weights);
              case "tornado" ->
                  new Specializer(cache, progress).specialize(spec, true).create(weights);
              default ->
                  throw new KilnException(
                      "unknown --backend " + backend + "; use java, interpreter or tornado");
            };
    if (decoder != null) {
      TornadoBridge.describe(decoder).ifPresent(progress);
    }
    return new LoadedModel(file, checkpoint, derived, spec, weights, decoder, chosen);
  }

  /**
   * {@code backend}, except {@code tornado} where TornadoVM cannot run: then {@code java}, with a
   * warning that says why (never a silent fallback).
   */
  static String backendOrFallback(String backend, Consumer<String> warn) {
    if (!backend.equals("tornado")) {
      return backend;
    }
    var reason = TornadoBridge.unavailableReason();
    if (reason.isPresent()) {
      warn.accept(
          "kiln: warning: the TornadoVM backend is unavailable: "
              + reason.get()
              + "; running the Java backend");
      return "java";
    }
    return backend;
  }
}
