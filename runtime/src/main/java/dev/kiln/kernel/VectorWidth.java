package dev.kiln.kernel;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The vector width a Vector API kernel runs at: the float species and the byte, short and int
 * species that go with it. Only loaded when the {@code jdk.incubator.vector} module is present.
 *
 * <p>Why a class per width rather than a species argument: the JIT compiles Vector API code to
 * vector instructions only where the species is a compile-time constant. A kernel that takes a
 * {@code VectorSpecies} argument gets a constant only when it is inlined into a caller that passes
 * a constant, and the JIT does not inline a kernel it has already compiled on its own (it is too
 * big); the kernel then runs the Vector API's boxed fallback, a hundred times slower than scalar
 * code. Here each kernel calls {@code width.floats()}; a JVM that uses one width (as {@link
 * VectorKernels} does) has loaded one subclass, so the call is bound to it (class hierarchy
 * analysis, or a monomorphic call-site profile) and inlined to a static final species, a constant,
 * even in a kernel compiled on its own. Tests that call several widths in one JVM get correct
 * results on the slow path.
 */
abstract sealed class VectorWidth
    permits VectorWidth.Bits128, VectorWidth.Bits256, VectorWidth.Bits512 {
  /** Float lanes. */
  abstract VectorSpecies<Float> floats();

  /** Int lanes, as many as {@link #floats()}. */
  abstract VectorSpecies<Integer> ints();

  /** Short lanes, as many as {@link #floats()} (half the bits). */
  abstract VectorSpecies<Short> shorts();

  /**
   * Byte lanes: as many as {@link #floats()}, but at least 8 (the narrowest byte species is 64
   * bits), so at 128 bits a byte vector holds two float vectors' worth of lanes (see {@link
   * #byteParts()}).
   */
  abstract VectorSpecies<Byte> bytes();

  /** Float vectors per byte vector: {@code bytes().length() / floats().length()}, 1 or 2. */
  abstract int byteParts();

  /** Bits in a float vector. */
  final int bits() {
    return floats().vectorBitSize();
  }

  /** The width of {@code bits} bits: 128, 256 or 512. */
  static VectorWidth of(int bits) {
    return switch (bits) {
      case 128 -> new Bits128();
      case 256 -> new Bits256();
      case 512 -> new Bits512();
      default ->
          throw new IllegalArgumentException(
              "no vector width of " + bits + " bits (128, 256 or 512)");
    };
  }

  /**
   * Bits in {@link FloatVector#SPECIES_PREFERRED}: the CPU's widest vectors the Vector API uses.
   */
  static int preferredBits() {
    return FloatVector.SPECIES_PREFERRED.vectorBitSize();
  }

  @Override
  public String toString() {
    return bits() + "-bit";
  }

  static final class Bits128 extends VectorWidth {
    @Override
    VectorSpecies<Float> floats() {
      return FloatVector.SPECIES_128;
    }

    @Override
    VectorSpecies<Integer> ints() {
      return IntVector.SPECIES_128;
    }

    @Override
    VectorSpecies<Short> shorts() {
      return ShortVector.SPECIES_64;
    }

    @Override
    VectorSpecies<Byte> bytes() {
      return ByteVector.SPECIES_64;
    }

    @Override
    int byteParts() {
      return 2;
    }
  }

  static final class Bits256 extends VectorWidth {
    @Override
    VectorSpecies<Float> floats() {
      return FloatVector.SPECIES_256;
    }

    @Override
    VectorSpecies<Integer> ints() {
      return IntVector.SPECIES_256;
    }

    @Override
    VectorSpecies<Short> shorts() {
      return ShortVector.SPECIES_128;
    }

    @Override
    VectorSpecies<Byte> bytes() {
      return ByteVector.SPECIES_64;
    }

    @Override
    int byteParts() {
      return 1;
    }
  }

  static final class Bits512 extends VectorWidth {
    @Override
    VectorSpecies<Float> floats() {
      return FloatVector.SPECIES_512;
    }

    @Override
    VectorSpecies<Integer> ints() {
      return IntVector.SPECIES_512;
    }

    @Override
    VectorSpecies<Short> shorts() {
      return ShortVector.SPECIES_256;
    }

    @Override
    VectorSpecies<Byte> bytes() {
      return ByteVector.SPECIES_128;
    }

    @Override
    int byteParts() {
      return 1;
    }
  }
}
