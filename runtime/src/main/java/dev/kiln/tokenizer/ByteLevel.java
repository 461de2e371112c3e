package dev.kiln.tokenizer;

import java.util.Arrays;

/**
 * GPT-2's reversible map of bytes to printable characters, with which byte-level BPE vocabularies
 * are written: the printable bytes {@code '!'..'~'}, {@code 0xA1..0xAC} and {@code 0xAE..0xFF}
 * stand for themselves; the other 68 bytes, in order, for U+0100 onwards (so a space is {@code 'Ġ'}
 * U+0120 and a newline {@code 'Ċ'} U+010A).
 */
final class ByteLevel {
  private static final char[] BYTE_TO_CHAR = new char[256];

  /** The byte each char up to U+0143 stands for, or -1. */
  private static final int[] CHAR_TO_BYTE = new int[0x144];

  static {
    Arrays.fill(CHAR_TO_BYTE, -1);
    int next = 0x100;
    for (int b = 0; b < 256; b++) {
      boolean printable =
          (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      char c = printable ? (char) b : (char) next++;
      BYTE_TO_CHAR[b] = c;
      CHAR_TO_BYTE[c] = b;
    }
  }

  private ByteLevel() {}

  /** The char byte {@code b} (0 to 255) is written as. */
  static char charOf(int b) {
    return BYTE_TO_CHAR[b];
  }

  /** The byte char {@code c} stands for, or -1 if it stands for none. */
  static int byteOf(char c) {
    return c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
  }

  /** {@code bytes} written as chars. */
  static String encode(byte[] bytes) {
    char[] chars = new char[bytes.length];
    for (int i = 0; i < bytes.length; i++) {
      chars[i] = BYTE_TO_CHAR[bytes[i] & 0xff];
    }
    return new String(chars);
  }

  /** The bytes {@code text} stands for, or null if a char of it stands for no byte. */
  static byte[] decode(String text) {
    byte[] bytes = new byte[text.length()];
    for (int i = 0; i < bytes.length; i++) {
      int b = byteOf(text.charAt(i));
      if (b < 0) {
        return null;
      }
      bytes[i] = (byte) b;
    }
    return bytes;
  }
}
