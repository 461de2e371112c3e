package dev.kiln.weights;

/**
 * Test-only reference decoders for Kiln's element types, written from the GGML format definitions
 * (llama.cpp {@code ggml-quants.c}: {@code dequantize_row_q8_0}, {@code _q4_0}, {@code _q4_K},
 * {@code _q6_K}) and deliberately in a different style from the main code: a block's bytes are
 * first unpacked into plain int arrays (one signed quant per element, one scale and min per
 * element), and only then turned into floats. F16 is decoded by hand, not with {@link
 * Float#float16ToFloat}.
 *
 * <p>Float operations follow llama.cpp's order exactly, so results must match the main code bit for
 * bit: Q8_0 {@code d * q}; Q4_0 {@code d * (q - 8)}; Q4_K {@code (d * sc) * q - (dmin * m)}; Q6_K
 * {@code (d * sc) * (q - 32)}.
 */
final class GgmlReference {
  private GgmlReference() {}

  /**
   * One decoded row: element i is {@code scale[i] * q[i]}, minus {@code offset[i]} when the format
   * has mins (Q4_K). {@code q} is already signed (Q4_0: q - 8; Q6_K: q - 32).
   */
  record Decoded(int[] q, float[] scale, float[] offset, boolean hasOffset) {
    float value(int i) {
      float scaled = scale[i] * q[i];
      return hasOffset ? scaled - offset[i] : scaled;
    }

    float[] values() {
      float[] values = new float[q.length];
      for (int i = 0; i < values.length; i++) {
        values[i] = value(i);
      }
      return values;
    }

    /** |scale * q| + |offset|: the size of the terms a dot product over this element adds up. */
    double magnitude(int i) {
      return Math.abs((double) scale[i] * q[i]) + (hasOffset ? Math.abs((double) offset[i]) : 0);
    }
  }

  static int u8(byte[] bytes, int at) {
    return bytes[at] & 0xff;
  }

  static int u16(byte[] bytes, int at) {
    return u8(bytes, at) | u8(bytes, at + 1) << 8;
  }

  /** IEEE binary16 bits to float, by hand: sign, 5-bit exponent (bias 15), 10-bit fraction. */
  static float half(int bits) {
    boolean negative = (bits & 0x8000) != 0;
    int exponent = (bits >> 10) & 0x1f;
    int fraction = bits & 0x3ff;
    double magnitude;
    if (exponent == 0x1f) {
      magnitude = fraction == 0 ? Double.POSITIVE_INFINITY : Double.NaN;
    } else if (exponent == 0) {
      magnitude = fraction * Math.pow(2, -24); // subnormal: 0.fraction * 2^-14
    } else {
      magnitude = (1024 + fraction) * Math.pow(2, exponent - 25); // 1.fraction * 2^(e-15)
    }
    return (float) (negative ? -magnitude : magnitude); // exact: every binary16 is a binary32
  }

  /** Dequantizes one row (whole blocks) of {@code type} stored in {@code bytes}. */
  static float[] dequantize(Dtype type, byte[] bytes) {
    return switch (type) {
      case F32 -> {
        float[] out = new float[bytes.length / 4];
        for (int i = 0; i < out.length; i++) {
          out[i] = Float.intBitsToFloat(u16(bytes, 4 * i) | u16(bytes, 4 * i + 2) << 16);
        }
        yield out;
      }
      case F16 -> {
        float[] out = new float[bytes.length / 2];
        for (int i = 0; i < out.length; i++) {
          out[i] = half(u16(bytes, 2 * i));
        }
        yield out;
      }
      case BF16 -> {
        float[] out = new float[bytes.length / 2];
        for (int i = 0; i < out.length; i++) {
          out[i] = Float.intBitsToFloat(u16(bytes, 2 * i) << 16);
        }
        yield out;
      }
      default -> decode(type, bytes).values();
    };
  }

  /** Per element, the size of the terms a dot product adds up (|value| for plain types). */
  static double[] magnitudes(Dtype type, byte[] bytes) {
    if (!type.quantized()) {
      float[] values = dequantize(type, bytes);
      double[] out = new double[values.length];
      for (int i = 0; i < out.length; i++) {
        out[i] = Math.abs((double) values[i]);
      }
      return out;
    }
    Decoded decoded = decode(type, bytes);
    double[] out = new double[decoded.q().length];
    for (int i = 0; i < out.length; i++) {
      out[i] = decoded.magnitude(i);
    }
    return out;
  }

  /** Decodes a row of a block-quantized type. */
  static Decoded decode(Dtype type, byte[] bytes) {
    int blockBytes =
        switch (type) {
          case Q8_0 -> 34;
          case Q4_0 -> 18;
          case Q4_K -> 144;
          case Q6_K -> 210;
          default -> throw new IllegalArgumentException(type.toString());
        };
    int blockSize = type == Dtype.Q8_0 || type == Dtype.Q4_0 ? 32 : 256;
    if (bytes.length % blockBytes != 0) {
      throw new IllegalArgumentException(bytes.length + " bytes are not whole " + type + " blocks");
    }
    int blocks = bytes.length / blockBytes;
    int n = blocks * blockSize;
    Decoded row = new Decoded(new int[n], new float[n], new float[n], type == Dtype.Q4_K);
    for (int b = 0; b < blocks; b++) {
      byte[] block = java.util.Arrays.copyOfRange(bytes, b * blockBytes, (b + 1) * blockBytes);
      int base = b * blockSize;
      switch (type) {
        case Q8_0 -> q8_0(block, row, base);
        case Q4_0 -> q4_0(block, row, base);
        case Q4_K -> q4_K(block, row, base);
        case Q6_K -> q6_K(block, row, base);
        default -> throw new AssertionError(type);
      }
    }
    return row;
  }

  /** block_q8_0 { ggml_half d; int8_t qs[32]; }: y = q * d. */
  private static void q8_0(byte[] block, Decoded row, int base) {
    float d = half(u16(block, 0));
    for (int j = 0; j < 32; j++) {
      row.q()[base + j] = block[2 + j]; // signed byte
      row.scale()[base + j] = d;
    }
  }

  /**
   * block_q4_0 { ggml_half d; uint8_t qs[16]; }: y[j] = (lo(qs[j]) - 8) * d, y[j + 16] = (hi(qs[j])
   * - 8) * d.
   */
  private static void q4_0(byte[] block, Decoded row, int base) {
    float d = half(u16(block, 0));
    int[] nibbles = new int[32];
    for (int j = 0; j < 16; j++) {
      nibbles[j] = u8(block, 2 + j) % 16;
      nibbles[j + 16] = u8(block, 2 + j) / 16;
    }
    for (int j = 0; j < 32; j++) {
      row.q()[base + j] = nibbles[j] - 8;
      row.scale()[base + j] = d;
    }
  }

  /**
   * block_q4_K { ggml_half d; ggml_half dmin; uint8_t scales[12]; uint8_t qs[128]; }. Sub-block j
   * (0..7) has 6-bit scale sc[j] and min m[j] from get_scale_min_k4; elements come in four groups
   * of 64, group g reading qs[32g .. 32g+31]: low nibbles are sub-block 2g, high nibbles 2g+1. y =
   * (d * sc) * q - (dmin * m).
   */
  private static void q4_K(byte[] block, Decoded row, int base) {
    float d = half(u16(block, 0));
    float dmin = half(u16(block, 2));
    int[] s = new int[12];
    for (int i = 0; i < 12; i++) {
      s[i] = u8(block, 4 + i);
    }
    int[] sc = new int[8];
    int[] m = new int[8];
    for (int j = 0; j < 8; j++) {
      if (j < 4) {
        sc[j] = s[j] & 63;
        m[j] = s[j + 4] & 63;
      } else {
        sc[j] = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
        m[j] = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
      }
    }
    int[] q = new int[256];
    int[] sub = new int[256];
    for (int g = 0; g < 4; g++) {
      for (int l = 0; l < 32; l++) {
        int packed = u8(block, 16 + 32 * g + l);
        q[64 * g + l] = packed & 0xF;
        sub[64 * g + l] = 2 * g;
        q[64 * g + 32 + l] = packed >> 4;
        sub[64 * g + 32 + l] = 2 * g + 1;
      }
    }
    for (int i = 0; i < 256; i++) {
      row.q()[base + i] = q[i];
      row.scale()[base + i] = d * sc[sub[i]];
      row.offset()[base + i] = dmin * m[sub[i]];
    }
  }

  /**
   * block_q6_K { uint8_t ql[128]; uint8_t qh[64]; int8_t scales[16]; ggml_half d; }, in llama.cpp's
   * loop: per half of 128 elements, for l &lt; 32 (is = l / 16): q1..q4 from ql[l], ql[l + 32] and
   * the 2-bit fields of qh[l]; y[l + 32k] = d * sc[is + 2k] * qk; then ql += 64, qh += 32, sc += 8.
   */
  private static void q6_K(byte[] block, Decoded row, int base) {
    int[] ql = new int[128];
    int[] qh = new int[64];
    int[] scales = new int[16];
    for (int i = 0; i < 128; i++) {
      ql[i] = u8(block, i);
    }
    for (int i = 0; i < 64; i++) {
      qh[i] = u8(block, 128 + i);
    }
    for (int i = 0; i < 16; i++) {
      scales[i] = block[192 + i]; // int8
    }
    float d = half(u16(block, 208));
    int y = base;
    int qlAt = 0;
    int qhAt = 0;
    int scAt = 0;
    for (int n = 0; n < 256; n += 128) {
      for (int l = 0; l < 32; l++) {
        int is = l / 16;
        int q1 = ((ql[qlAt + l] & 0xF) | (((qh[qhAt + l] >> 0) & 3) << 4)) - 32;
        int q2 = ((ql[qlAt + l + 32] & 0xF) | (((qh[qhAt + l] >> 2) & 3) << 4)) - 32;
        int q3 = ((ql[qlAt + l] >> 4) | (((qh[qhAt + l] >> 4) & 3) << 4)) - 32;
        int q4 = ((ql[qlAt + l + 32] >> 4) | (((qh[qhAt + l] >> 6) & 3) << 4)) - 32;
        set(row, y + l, q1, d * scales[scAt + is]);
        set(row, y + l + 32, q2, d * scales[scAt + is + 2]);
        set(row, y + l + 64, q3, d * scales[scAt + is + 4]);
        set(row, y + l + 96, q4, d * scales[scAt + is + 6]);
      }
      y += 128;
      qlAt += 64;
      qhAt += 32;
      scAt += 8;
    }
  }

  private static void set(Decoded row, int at, int q, float scale) {
    row.q()[at] = q;
    row.scale()[at] = scale;
  }
}
