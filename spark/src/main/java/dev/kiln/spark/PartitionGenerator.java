package dev.kiln.spark;

import dev.kiln.KilnException;
import dev.kiln.server.BatchGenerator;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.NoSuchElementException;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.util.TaskCompletionListener;

/**
 * A partition's rows through the executor's shared model: rows are read ahead and submitted to its
 * continuous-batching scheduler (up to twice its slots unfinished at once, so a slot is refilled as
 * soon as a sequence ends), and come out in their input order with the completion columns appended.
 */
final class PartitionGenerator implements MapPartitionsFunction<Row, Row> {
  private static final long serialVersionUID = 1;

  private final GenerateSettings settings;
  private final int promptIndex;
  private final int seedIndex;

  PartitionGenerator(GenerateSettings settings, int promptIndex, int seedIndex) {
    this.settings = settings;
    this.promptIndex = promptIndex;
    this.seedIndex = seedIndex;
  }

  @Override
  public Iterator<Row> call(Iterator<Row> input) {
    if (!input.hasNext()) {
      return input; // an empty partition opens nothing
    }
    Output output = new Output(input, ExecutorModels.get(settings.model()));
    TaskContext task = TaskContext.get();
    if (task != null) {
      task.addTaskCompletionListener(
          new TaskCompletionListener() {
            @Override
            public void onTaskCompletion(TaskContext context) {
              output.cancelAll(); // a task that ends early (a failure, a limit) frees its slots
            }
          });
    }
    return output;
  }

  /** The row with the completion's columns appended. */
  static Row append(Row row, BatchGenerator.Completion completion) {
    int n = row.size();
    Object[] values = new Object[n + KilnGenerate.ADDED_COLUMNS];
    for (int i = 0; i < n; i++) {
      values[i] = row.get(i);
    }
    values[n] = completion.text();
    values[n + 1] = completion.finishReason();
    values[n + 2] = completion.promptTokens();
    values[n + 3] = completion.completionTokens();
    values[n + 4] = completion.error();
    return RowFactory.create(values);
  }

  private final class Output implements Iterator<Row> {
    private record Item(Row row, Rows.Submitted submitted) {}

    private final Iterator<Row> input;
    private final ExecutorModels.Shared shared;
    private final int window;
    private final ArrayDeque<Item> queue = new ArrayDeque<>();

    Output(Iterator<Row> input, ExecutorModels.Shared shared) {
      this.input = input;
      this.shared = shared;
      this.window = 2 * shared.generator().slots();
    }

    @Override
    public boolean hasNext() {
      return !queue.isEmpty() || input.hasNext();
    }

    @Override
    public Row next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      try {
        fill();
        Item head = queue.peek();
        BatchGenerator.Completion completion;
        while ((completion = head.submitted().await(20)) == null) {
          fill(); // sequences behind the head may have finished: keep their slots busy
        }
        queue.poll();
        if (completion.error() != null && settings.failFast()) {
          throw new KilnException(
              "kiln-spark: generation failed (failFast is on): " + completion.error());
        }
        return append(head.row(), completion);
      } catch (InterruptedException e) {
        cancelAll();
        Thread.currentThread().interrupt();
        throw new KilnException("kiln-spark: the task was interrupted", e);
      } catch (RuntimeException e) {
        cancelAll();
        throw e;
      }
    }

    /**
     * Submits rows while fewer than the window are unfinished (and a bounded number wait to be
     * read).
     */
    private void fill() throws InterruptedException {
      int unfinished = 0;
      for (Item item : queue) {
        if (!item.submitted().isDone()) {
          unfinished++;
        }
      }
      while (unfinished < window && queue.size() < 16 * window && input.hasNext()) {
        Row row = input.next();
        queue.add(new Item(row, Rows.submit(shared, settings, row.get(promptIndex), seed(row))));
        unfinished++;
      }
    }

    private long seed(Row row) {
      if (seedIndex < 0) {
        return settings.seed();
      }
      Object value = row.get(seedIndex);
      if (value instanceof Number number) {
        return number.longValue();
      }
      return settings.seed(); // a null seed: the default seed
    }

    void cancelAll() {
      for (Item item : queue) {
        item.submitted().cancel();
      }
    }
  }
}
