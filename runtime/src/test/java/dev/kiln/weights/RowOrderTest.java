package dev.kiln.weights;

import static com.google.common.truth.Truth.assertThat;
import static com.google.common.truth.Truth.assertWithMessage;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link WeightTensor#withRowOrder} views read stored row {@code order[r]} as logical row r through
 * every read path, and {@link WeightTensor#of} rejects data that does not hold the shape.
 */
class RowOrderTest {
  private static final int ROWS = 5;

  private static int columnsFor(Dtype type) {
    return type.quantized() ? 2 * type.blockSize() : 8;
  }

  private static void assertSameBits(String what, float[] expected, float[] actual) {
    assertWithMessage("%s length", what).that(actual).hasLength(expected.length);
    for (int i = 0; i < expected.length; i++) {
      if (Float.floatToIntBits(expected[i]) != Float.floatToIntBits(actual[i])) {
        assertWithMessage("%s element %s: expected %s, got %s", what, i, expected[i], actual[i])
            .fail();
      }
    }
  }

  /**
   * Checks every read path of {@code view} against the reference decoding of the stored rows {@code
   * order}.
   */
  private static void assertReadsStoredRows(
      Dtype type, WeightTensor base, WeightTensor view, byte[] bytes, int[] order, Random random) {
    int columns = columnsFor(type);
    assertThat(view.dtype()).isEqualTo(type);
    assertThat(view.shape()).isEqualTo(base.shape());
    assertThat(view.rows()).isEqualTo((long) order.length);
    assertThat(view.name()).isEqualTo(base.name());
    float[] vector = TestBlocks.randomVector(columns + 2, random);
    float[] all = view.toArray();
    FloatTensor floats = view.toFloat();
    assertThat(floats.shape()).isEqualTo(base.shape());
    for (int r = 0; r < order.length; r++) {
      String what = type + " logical row " + r + " (stored " + order[r] + ")";
      float[] expected =
          GgmlReference.dequantize(type, TestBlocks.row(bytes, type, columns, order[r]));

      float[] row = new float[columns];
      view.readRow(r, row, 0);
      assertSameBits(what + " readRow", expected, row);

      assertSameBits(
          what + " toArray", expected, Arrays.copyOfRange(all, r * columns, (r + 1) * columns));

      float[] viaGet = new float[columns];
      float[] viaToFloat = new float[columns];
      for (int c = 0; c < columns; c++) {
        viaGet[c] = view.get((long) r * columns + c);
        // toFloat() is stored in logical order: read its memory directly, not through its own row
        // order.
        viaToFloat[c] =
            floats.data().get(FloatTensor.LAYOUT, ((long) r * columns + c) * Float.BYTES);
      }
      assertSameBits(what + " get", expected, viaGet);
      assertSameBits(what + " toFloat", expected, viaToFloat);

      // The same stored row through the view and the base: equal up to the order of the sums (the
      // JIT may
      // compile the dot kernel between the two calls, and the Vector API's interpreted and compiled
      // lane
      // sums round differently).
      double scale = 0;
      for (int c = 0; c < columns; c++) {
        scale += Math.abs((double) expected[c] * vector[2 + c]);
      }
      assertWithMessage("%s dot", what)
          .that((double) view.dot(r, vector, 2))
          .isWithin(2.0 * columns * 0x1p-24 * scale + 1e-30)
          .of(base.dot(order[r], vector, 2));
    }
  }

  @ParameterizedTest
  @EnumSource(Dtype.class)
  void permutedViewsReadTheStoredRowsTheyName(Dtype type) {
    Random random = new Random(type.ordinal() + 40);
    int columns = columnsFor(type);
    byte[] bytes = TestBlocks.finite(type, ROWS, columns, random);
    WeightTensor base = TestBlocks.tensor("blk.0.attn_q.weight", type, ROWS, columns, bytes);

    // The identity view reads as the tensor itself.
    assertReadsStoredRows(type, base, base, bytes, new int[] {0, 1, 2, 3, 4}, random);

    int[] permutation = {3, 0, 4, 1, 2};
    WeightTensor view = base.withRowOrder(permutation);
    assertReadsStoredRows(type, base, view, bytes, permutation, random);

    // The order is copied: changing the caller's array afterwards changes nothing.
    int[] mutable = permutation.clone();
    WeightTensor copied = base.withRowOrder(mutable);
    Arrays.fill(mutable, 0);
    assertReadsStoredRows(type, base, copied, bytes, permutation, random);

    // Rows may repeat.
    int[] repeating = {2, 2, 0, 4, 4};
    assertReadsStoredRows(type, base, base.withRowOrder(repeating), bytes, repeating, random);

    // A view of a view: the new order names stored rows, as the documentation says.
    int[] second = {1, 4, 3, 2, 0};
    assertReadsStoredRows(type, base, view.withRowOrder(second), bytes, second, random);

    // The underlying tensor is unchanged.
    assertReadsStoredRows(type, base, base, bytes, new int[] {0, 1, 2, 3, 4}, random);
  }

  @Test
  void rowsSpanEveryDimensionButTheLast() {
    Random random = new Random(5);
    byte[] bytes = TestBlocks.finite(Dtype.Q8_0, 6, 64, random);
    WeightTensor base =
        WeightTensor.of("t", new long[] {2, 3, 64}, Dtype.Q8_0, MemorySegment.ofArray(bytes));
    assertThat(base.rows()).isEqualTo(6L);
    assertThat(base.columns()).isEqualTo(64L);
    int[] order = {5, 4, 0, 1, 3, 2};
    assertReadsStoredRows(Dtype.Q8_0, base, base.withRowOrder(order), bytes, order, random);
  }

  @Test
  void floatToFloatIsTheTensorItselfOnlyInStoredOrder() {
    FloatTensor base = FloatTensor.of("f", new long[] {2, 3}, new float[] {1, 2, 3, 4, 5, 6});
    assertThat(base.toFloat()).isSameInstanceAs(base);
    FloatTensor view = base.withRowOrder(new int[] {1, 0});
    FloatTensor copy = view.toFloat();
    assertThat(copy).isNotSameInstanceAs(view);
    assertThat(copy.toArray())
        .usingExactEquality()
        .containsExactly(4f, 5f, 6f, 1f, 2f, 3f)
        .inOrder();
    assertThat(view.get(0)).isEqualTo(4f);
    assertThat(view.get(5)).isEqualTo(3f);
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> view.set(0, 9f));
    assertThat(e).hasMessageThat().contains("f");
    assertThat(base.get(0)).isEqualTo(1f);
  }

  @ParameterizedTest
  @EnumSource(Dtype.class)
  void rowOrdersOfTheWrongLengthOrOutOfRangeAreRejected(Dtype type) {
    int columns = columnsFor(type);
    WeightTensor base =
        TestBlocks.tensor(
            "blk.3.attn_k.weight",
            type,
            ROWS,
            columns,
            TestBlocks.finite(type, ROWS, columns, new Random(1)));
    for (int[] order :
        new int[][] {{0, 1, 2, 3}, {0, 1, 2, 3, 4, 0}, {0, 1, 2, 3, 5}, {0, -1, 2, 3, 4}}) {
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () -> base.withRowOrder(order),
              () -> type + " order " + Arrays.toString(order));
      assertThat(e).hasMessageThat().contains("blk.3.attn_k.weight");
    }
  }

  @ParameterizedTest
  @EnumSource(Dtype.class)
  void ofRejectsDataOfTheWrongSize(Dtype type) {
    int columns = columnsFor(type);
    int bytes = Math.toIntExact(type.byteSize(2L * columns));
    // The right size is accepted, so the rejections below are about size alone.
    assertThat(
            WeightTensor.of(
                    "ok", new long[] {2, columns}, type, MemorySegment.ofArray(new byte[bytes]))
                .rows())
        .isEqualTo(2L);
    for (int wrong : new int[] {0, bytes - 1, bytes + 1, bytes - type.blockBytes(), 2 * bytes}) {
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () ->
                  WeightTensor.of(
                      "blk.1.ffn_up.weight",
                      new long[] {2, columns},
                      type,
                      MemorySegment.ofArray(new byte[wrong])),
              () -> type + " with " + wrong + " bytes");
      assertThat(e).hasMessageThat().contains("blk.1.ffn_up.weight");
    }
  }

  @ParameterizedTest
  @EnumSource(names = {"Q8_0", "Q4_0", "Q4_K", "Q6_K"})
  void ofRejectsRowsThatDoNotFillWholeBlocks(Dtype type) {
    int block = type.blockSize();
    // {2, block / 2}: one block's worth of elements in all, the right byte count for it, but each
    // row half a block.
    // {3, block + block / 2}: rows of one and a half blocks.
    // {block, 1}: a column vector of one block's elements.
    for (long[] shape :
        new long[][] {{2, block / 2}, {3, block + block / 2}, {block, 1}, {2, block + 2}}) {
      long elements = shape[0] * shape[1];
      long wholeBlocks = (elements + block - 1) / block;
      for (long bytes :
          new long[] {wholeBlocks * type.blockBytes(), elements * type.blockBytes() / block}) {
        IllegalArgumentException e =
            assertThrows(
                IllegalArgumentException.class,
                () ->
                    WeightTensor.of(
                        "output.weight", shape, type, MemorySegment.ofArray(new byte[(int) bytes])),
                () -> type + " " + Arrays.toString(shape) + " with " + bytes + " bytes");
        assertThat(e).hasMessageThat().contains("output.weight");
      }
    }
    // A scalar is a row of one element.
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                WeightTensor.of(
                    "scalar",
                    new long[0],
                    type,
                    MemorySegment.ofArray(new byte[type.blockBytes()])));
    assertThat(e).hasMessageThat().contains("scalar");
  }

  @Test
  void ofRejectsNegativeAndOverflowingShapes() {
    for (long[] shape : new long[][] {{-1, 32}, {1L << 40, 1L << 40}, {Long.MAX_VALUE, 2}}) {
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () ->
                  WeightTensor.of(
                      "huge.weight", shape, Dtype.F32, MemorySegment.ofArray(new byte[16])),
              () -> Arrays.toString(shape));
      assertThat(e).hasMessageThat().contains("huge.weight");
    }
  }
}
