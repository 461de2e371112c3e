package dev.kiln.tokenizer;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads a llama2.c {@code tokenizer.bin}: a little-endian int32 {@code max_token_length}, then for
 * each token a float32 score, an int32 byte length and the bytes. The file states no token count:
 * all tokens to the end of the file are read, or exactly the count the checkpoint states.
 *
 * <p>As in {@code run.c}: token 0 is unknown, 1 is BOS and 2 is EOS; tokens are stored with plain
 * spaces (not "▁"); encoding puts a space before the text and merges by score; tokens {@code
 * <0xNN>} are byte tokens. Two differences: a character with no token becomes the byte token whose
 * text is {@code <0xNN>} wherever it is (run.c adds 3 to the byte, which is the same for Llama 2's
 * vocabulary and wrong for others), or the unknown token when there is none; and tokens whose bytes
 * are not UTF-8 are never produced by encoding (they decode to their bytes).
 */
final class Llama2cTokenizerReader {
  /** Larger than any real tokenizer.bin (Llama 2's is 0.4 MB). */
  static final long MAX_BYTES = 1L << 30;

  private Llama2cTokenizerReader() {}

  /**
   * {@code expectedCount}: the vocabulary size the checkpoint states, or -1 to read to the end of
   * the file.
   */
  static Tokenizer read(Path file, int expectedCount) {
    String problem = dev.kiln.weights.RegularFiles.problem(file);
    if (problem != null) {
      throw new TokenizerException(file + ": " + problem);
    }
    byte[] data;
    try {
      long size = Files.size(file);
      if (size > MAX_BYTES) {
        throw new TokenizerException(
            file
                + ": "
                + size
                + " bytes, more than a llama2.c tokenizer's "
                + MAX_BYTES
                + "-byte limit (is this a tokenizer.bin?)");
      }
      data = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw new TokenizerException(file + ": no such file");
    } catch (IOException e) {
      throw new TokenizerException(file + ": cannot read: " + e.getMessage(), e);
    }
    return parse(file.toString(), data, expectedCount);
  }

  static Tokenizer parse(String source, byte[] data, int expectedCount) {
    ByteBuffer in = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
    if (data.length < 4) {
      throw error(
          source, 0, "file is " + data.length + " bytes, too short for max_token_length (4 bytes)");
    }
    int maxLength = in.getInt();
    if (maxLength < 0) {
      throw error(
          source, 0, "max_token_length is " + maxLength + ", expected a non-negative length");
    }
    List<byte[]> tokens = new ArrayList<>();
    List<Float> scores = new ArrayList<>();
    while (in.hasRemaining() && (expectedCount < 0 || tokens.size() < expectedCount)) {
      int at = in.position();
      int index = tokens.size();
      if (in.remaining() < 8) {
        throw error(
            source,
            at,
            "token "
                + index
                + ": needs 8 bytes for its score and length but the file ends after "
                + in.remaining()
                + " (truncated?)");
      }
      float score = in.getFloat();
      if (!Float.isFinite(score)) {
        throw error(
            source, at, "token " + index + ": score is " + score + ", expected a finite number");
      }
      int length = in.getInt();
      if (length < 0 || length > maxLength) {
        throw error(
            source,
            at + 4,
            "token "
                + index
                + ": length "
                + length
                + " is not between 0 and max_token_length "
                + maxLength
                + " (stated at offset 0)");
      }
      if (in.remaining() < length) {
        throw error(
            source,
            at + 8,
            "token "
                + index
                + ": needs "
                + length
                + " bytes but the file ends after "
                + in.remaining()
                + " (truncated?)");
      }
      byte[] bytes = new byte[length];
      in.get(bytes);
      tokens.add(bytes);
      scores.add(score);
    }
    if (expectedCount >= 0 && tokens.size() < expectedCount) {
      throw error(
          source,
          data.length,
          "the file ends after "
              + tokens.size()
              + " tokens but the checkpoint states a "
              + "vocabulary of "
              + expectedCount
              + " (truncated?)");
    }
    if (in.hasRemaining()) {
      throw error(
          source,
          in.position(),
          in.remaining()
              + " bytes follow the "
              + tokens.size()
              + " tokens the checkpoint states (is this the checkpoint's tokenizer?)");
    }
    if (tokens.size() < 3) {
      throw error(
          source,
          data.length,
          "the file holds "
              + tokens.size()
              + " tokens; llama2.c's have at least 3 "
              + "(0 unknown, 1 BOS, 2 EOS)");
    }
    int n = tokens.size();
    String[] texts = new String[n];
    TokenType[] types = new TokenType[n];
    float[] scoreArray = new float[n];
    byte[][] raw = new byte[n][];
    for (int id = 0; id < n; id++) {
      raw[id] = tokens.get(id);
      scoreArray[id] = scores.get(id);
      String text = strictUtf8(raw[id]);
      texts[id] = text != null ? text : new String(raw[id], StandardCharsets.UTF_8);
      types[id] =
          id == 0
              ? TokenType.UNKNOWN
              : id <= 2
                  ? TokenType.CONTROL
                  : text == null
                      ? TokenType.UNUSED
                      : Vocabulary.isByteText(text) ? TokenType.BYTE : TokenType.NORMAL;
    }
    Vocabulary vocab = new Vocabulary(texts, types, 1, 2, -1, 0);
    SentencePieceTokenizer.Options options =
        new SentencePieceTokenizer.Options(
            null, SentencePieceTokenizer.Prefix.ALWAYS, false, false, true, false, false);
    return new SentencePieceTokenizer(source, vocab, options, scoreArray, null, raw, true, null);
  }

  private static String strictUtf8(byte[] bytes) {
    try {
      return StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes))
          .toString();
    } catch (CharacterCodingException e) {
      return null;
    }
  }

  private static TokenizerException error(String source, long offset, String message) {
    return new TokenizerException(
        source + " (llama2.c tokenizer, offset " + offset + "): " + message);
  }
}
