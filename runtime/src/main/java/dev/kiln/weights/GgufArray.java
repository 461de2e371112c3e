package dev.kiln.weights;

import java.lang.foreign.MemorySegment;
import java.util.AbstractList;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.RandomAccess;

/**
 * A GGUF metadata array, read in place from the (checked) file: elements are decoded when asked
 * for, so a large token list costs nothing until used. Strings and nested arrays vary in size; for
 * those the start of every {@value #STRIDE}th element is kept to make {@link #get} quick.
 */
final class GgufArray extends AbstractList<Object> implements RandomAccess {
  private static final int STRIDE = 64;

  private final MemorySegment file;
  private final GgufValueType elementType;
  private final int size;
  private final long start;

  /** Start of elements 0, STRIDE, 2 * STRIDE, ... for variable-size elements; null otherwise. */
  private final long[] marks;

  /** The array whose header (element type, count) is at {@code pos}. */
  GgufArray(MemorySegment file, long pos) {
    this.file = file;
    this.elementType =
        GgufValueType.ofId(Integer.toUnsignedLong(file.get(GgufCodec.U32, pos))).orElseThrow();
    this.size = Math.toIntExact(file.get(GgufCodec.U64, pos + 4));
    this.start = pos + 12;
    if (elementType.fixedSize() > 0) {
      marks = null;
    } else {
      marks = new long[(size + STRIDE - 1) / STRIDE];
      long at = start;
      for (int i = 0; i < size; i++) {
        if (i % STRIDE == 0) {
          marks[i / STRIDE] = at;
        }
        at = GgufCodec.end(file, at, elementType);
      }
    }
  }

  GgufValueType elementType() {
    return elementType;
  }

  @Override
  public int size() {
    return size;
  }

  @Override
  public Object get(int index) {
    if (index < 0 || index >= size) {
      throw new IndexOutOfBoundsException("index " + index + " of an array of " + size);
    }
    return GgufCodec.value(file, elementStart(index), elementType);
  }

  private long elementStart(int index) {
    if (marks == null) {
      return start + (long) index * elementType.fixedSize();
    }
    long at = marks[index / STRIDE];
    for (int i = index / STRIDE * STRIDE; i < index; i++) {
      at = GgufCodec.end(file, at, elementType);
    }
    return at;
  }

  /** Walks the elements in order (quicker than {@link #get} for strings and nested arrays). */
  @Override
  public Iterator<Object> iterator() {
    return new Iterator<>() {
      private int next;
      private long at = start;

      @Override
      public boolean hasNext() {
        return next < size;
      }

      @Override
      public Object next() {
        if (next >= size) {
          throw new NoSuchElementException();
        }
        Object value = GgufCodec.value(file, at, elementType);
        at = GgufCodec.end(file, at, elementType);
        next++;
        return value;
      }
    };
  }
}
