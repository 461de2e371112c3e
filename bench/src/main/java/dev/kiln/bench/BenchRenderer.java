package dev.kiln.bench;

import dev.kiln.bench.BenchRunner.DecodeResult;
import dev.kiln.bench.BenchRunner.Model;
import dev.kiln.bench.BenchRunner.TypeResult;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The benchmark's report as text (aligned columns) and as markdown: the context lines, one row per
 * weight type of what {@link BenchRunner} measured, the legend, and the kernel profiles when
 * measured.
 */
final class BenchRenderer {
  private BenchRenderer() {}

  private static List<String> headers(List<Integer> batches) {
    List<String> headers =
        new ArrayList<>(
            List.of("type", "weights MB/step", "KV MB/token", "prefill tok/s", "prefill first"));
    for (int batch : batches) {
      headers.add("decode b" + batch + " tok/s");
      headers.add("b" + batch + " first");
      headers.add("b" + batch + " GB/s");
      headers.add("b" + batch + " of BW");
    }
    headers.add("interp tok/s");
    headers.add("gen/interp b1");
    return headers;
  }

  private static List<String> row(TypeResult r, List<Integer> batches) {
    List<String> row = new ArrayList<>();
    row.add(r.type().name());
    row.add(format("%.1f", r.weightBytesPerStep() / 1e6));
    row.add(
        r.decode().isEmpty() ? "-" : format("%.2f", r.decode().getFirst().kvBytesPerToken() / 1e6));
    row.add(format("%.1f", r.prefillTokensPerSecond()));
    row.add(format("%.1f", r.prefillFirstTokensPerSecond()));
    for (int batch : batches) {
      DecodeResult d = r.batch(batch);
      row.add(format("%.2f", d.tokensPerSecond()));
      row.add(format("%.2f", d.firstTokensPerSecond()));
      row.add(format("%.2f", d.gbps()));
      row.add(format("%.1f%%", 100 * d.ofBandwidth()));
    }
    row.add(r.interpreterSteps() == 0 ? "-" : format("%.3f", r.interpreterTokensPerSecond()));
    row.add(Double.isNaN(r.speedup()) ? "-" : format("%.1fx", r.speedup()));
    return row;
  }

  private static final String LEGEND =
      "tok/s: the best of the timed passes; first: the first timed pass alone (after"
          + " the warm-up; often slower: compilation of paths the warm-up did not take); weights MB/step: matrix bytes one"
          + " decode step reads (LM head included, embedding table not, unless tied); KV MB/token: K and V one sequence reads per step at the mean attended length;"
          + " bN GB/s = (weights/N + KV) x decode tokens/s at batch N; of BW: that over the measured read bandwidth;"
          + " interp: the reference interpreter, after a one-token prompt. MB = 1e6 bytes, GB = 1e9.";

  static String text(List<String> context, List<TypeResult> results, List<Integer> batches) {
    List<String> headers = headers(batches);
    List<List<String>> rows = results.stream().map(r -> row(r, batches)).toList();
    int[] widths = new int[headers.size()];
    for (int c = 0; c < widths.length; c++) {
      widths[c] = headers.get(c).length();
      for (List<String> row : rows) {
        widths[c] = Math.max(widths[c], row.get(c).length());
      }
    }
    StringBuilder out = new StringBuilder();
    context.forEach(line -> out.append(line).append('\n'));
    out.append('\n');
    appendAligned(out, headers, widths);
    appendAligned(out, Arrays.stream(widths).mapToObj("-"::repeat).toList(), widths);
    rows.forEach(row -> appendAligned(out, row, widths));
    out.append('\n').append(LEGEND).append('\n');
    appendProfiles(out, results, "");
    return out.toString();
  }

  private static void appendAligned(StringBuilder out, List<String> cells, int[] widths) {
    for (int c = 0; c < cells.size(); c++) {
      String cell = cells.get(c);
      String pad = " ".repeat(widths[c] - cell.length());
      out.append(c == 0 ? cell + pad : "  " + pad + cell);
    }
    out.append('\n');
  }

  static String markdown(
      Model model, List<String> context, List<TypeResult> results, List<Integer> batches) {
    StringBuilder out = new StringBuilder();
    out.append("## Kiln benchmark: ").append(model.name()).append("\n\n");
    context.forEach(line -> out.append("- ").append(line).append('\n'));
    out.append('\n');
    List<String> headers = headers(batches);
    out.append("| ").append(String.join(" | ", headers)).append(" |\n");
    out.append("|")
        .append("---|".repeat(1))
        .append("---:|".repeat(headers.size() - 1))
        .append('\n');
    for (TypeResult r : results) {
      out.append("| ").append(String.join(" | ", row(r, batches))).append(" |\n");
    }
    out.append('\n').append(LEGEND).append('\n');
    appendProfiles(out, results, "    ");
    return out.toString();
  }

  /**
   * The kernel profiles, when measured, each line after {@code indent} (markdown: a code block).
   */
  private static void appendProfiles(StringBuilder out, List<TypeResult> results, String indent) {
    if (results.stream().allMatch(r -> r.profile().isEmpty())) {
      return;
    }
    out.append(
        "\nKernel profile (wall time of each kernel call, summed over the timed passes; GB/s: the bytes of the"
            + " kernel's weight matrices, read once per call, over its time):\n\n");
    results.forEach(r -> r.profile().forEach(line -> out.append(indent).append(line).append('\n')));
  }

  private static String format(String pattern, double value) {
    return String.format(Locale.ROOT, pattern, value);
  }
}
