package dev.kiln.weights;

import static com.google.common.truth.Truth.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.kiln.interpreter.Interpreter;
import dev.kiln.kernel.GeneratedDecoder;
import dev.kiln.kernel.Rows;
import dev.kiln.spec.ResolvedSpec;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A model file truncated while its weights are loaded: decoders refuse to run with a message naming
 * the file before they read a lost page (which would fault: an InternalError, or a SIGBUS crash).
 */
class ChangedWhileMappedTest {
  @TempDir Path dir;

  private static final ResolvedSpec SPEC = WeightLayoutTest.gqa();

  private Path write(Weights weights, Dtype type, String name) {
    SafetensorsBytes file = new SafetensorsBytes();
    for (var entry : weights.tensors().entrySet()) {
      WeightTensor tensor = entry.getValue();
      if (type == Dtype.F16 && tensor.shape().length == 2) {
        file.add(
            entry.getKey(),
            "F16",
            tensor.shape(),
            Quantizer.quantize(tensor, Dtype.F16)
                .data()
                .toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
      } else {
        file.addF32(entry.getKey(), tensor.shape(), tensor.toArray());
      }
    }
    return file.write(dir.resolve(name));
  }

  private static void truncate(Path file, long size) throws IOException {
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
      channel.truncate(size);
    }
  }

  /** A decoder that computes nothing: what matters is what the base class checks first. */
  private static final class Idle extends GeneratedDecoder {
    Idle(ResolvedSpec spec) {
      super(spec);
    }

    @Override
    protected void forward(Rows rows, dev.kiln.KvCache cache) {}
  }

  @Test
  void interpreterRefusesATruncatedFile() throws IOException {
    Path file = write(Weights.random(SPEC, 3), Dtype.F32, "f32.safetensors");
    Interpreter decoder = new Interpreter(Weights.load(SPEC, file));
    decoder.prefill(new int[][] {{1, 2}});
    long size = Files.size(file);
    truncate(file, 100);
    var e = assertThrows(WeightLoadException.class, () -> decoder.prefill(new int[][] {{1, 2}}));
    assertThat(e)
        .hasMessageThat()
        .startsWith(
            file
                + ": model file changed or truncated while in use ("
                + size
                + " bytes when mapped, 100 now); reload the model");
    assertThrows(WeightLoadException.class, () -> decoder.step(new int[] {3}));
  }

  @Test
  void generatedDecodersRefuseATruncatedFile() throws IOException {
    Path file = write(Weights.random(SPEC, 4), Dtype.F16, "f16.safetensors");
    Weights weights = Weights.load(SPEC, file);
    Idle decoder = new Idle(SPEC);
    decoder.prefill(new int[][] {{1}});
    truncate(file, 8);
    var e = assertThrows(WeightLoadException.class, () -> decoder.prefill(new int[][] {{1}}));
    assertThat(e)
        .hasMessageThat()
        .contains(file + ": model file changed or truncated while in use");
    assertThat(weights.spec())
        .isEqualTo(SPEC); // the weights stay reachable, so their file stays mapped
  }

  @Test
  void aFileReplacedByRenamingIsNotAChange() throws IOException {
    Path file = write(Weights.random(SPEC, 5), Dtype.F32, "renamed.safetensors");
    Interpreter decoder = new Interpreter(Weights.load(SPEC, file));
    Path smaller = Files.writeString(dir.resolve("smaller"), "x");
    Files.move(smaller, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    assertThat(decoder.prefill(new int[][] {{1, 2}})[0]).hasLength(SPEC.vocabSize());
  }

  @Test
  void faultsReadingMappedMemoryBecomeWeightLoadExceptions() {
    var fault = new InternalError("a fault occurred in an unsafe memory access operation");
    WeightLoadException e = ModelFiles.changedWhileMapped(fault);
    assertThat(e).hasMessageThat().contains("changed or");
    assertThat(e).hasCauseThat().isSameInstanceAs(fault);
    var other = new InternalError("something else");
    assertThat(assertThrows(InternalError.class, () -> ModelFiles.changedWhileMapped(other)))
        .isSameInstanceAs(other);
  }
}
