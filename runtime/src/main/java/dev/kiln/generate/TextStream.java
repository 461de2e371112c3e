package dev.kiln.generate;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.Consumer;

/**
 * Turns generated tokens into text that is safe to show as it comes:
 *
 * <ol>
 *   <li>bytes are decoded as UTF-8 only up to the last complete character; the bytes of a character
 *       split across tokens wait for the rest (malformed bytes become U+FFFD, as does an incomplete
 *       character left at the end);
 *   <li>text that could be the start of a stop string is held back until it is known not to be; a
 *       stop string found ends the text just before it (it and anything after are dropped).
 * </ol>
 *
 * The pieces handed to the sink, concatenated, are {@link #text()}. Not thread-safe.
 */
public final class TextStream {
  private final TokenText tokenText;
  private final List<String> stopStrings;
  private final Consumer<String> sink;
  private final CharsetDecoder utf8 =
      StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPLACE)
          .onUnmappableCharacter(CodingErrorAction.REPLACE);
  private byte[] carry = new byte[0];
  private final StringBuilder pending = new StringBuilder();
  private final StringBuilder emitted = new StringBuilder();
  private String matchedStop;
  private boolean finished;

  public TextStream(TokenText tokenText, List<String> stopStrings, Consumer<String> sink) {
    this.tokenText = tokenText;
    this.stopStrings = stopStrings;
    this.sink = sink;
  }

  /**
   * Adds a token's bytes; returns true when that completes a stop string (the stream is then
   * finished).
   */
  public boolean accept(int id) {
    if (finished) {
      throw new IllegalStateException("text stream already finished");
    }
    byte[] bytes = tokenText.tokenBytes(id);
    if (bytes == null) {
      throw new IllegalStateException("token text of id " + id + " is null");
    }
    if (bytes.length == 0) {
      return false;
    }
    byte[] all = new byte[carry.length + bytes.length];
    System.arraycopy(carry, 0, all, 0, carry.length);
    System.arraycopy(bytes, 0, all, carry.length, bytes.length);
    ByteBuffer in = ByteBuffer.wrap(all);
    CharBuffer out = CharBuffer.allocate(all.length + 1);
    CoderResult result = utf8.decode(in, out, false);
    if (result.isOverflow()) {
      throw new IllegalStateException("UTF-8 decoding overflowed a buffer of " + out.capacity());
    }
    carry = new byte[in.remaining()];
    in.get(carry);
    out.flip();
    pending.append(out);
    return release(false);
  }

  /**
   * Ends the stream: decodes what is left (an incomplete character becomes U+FFFD) and releases all
   * held text.
   */
  public void finish() {
    if (finished) {
      return;
    }
    ByteBuffer in = ByteBuffer.wrap(carry);
    CharBuffer out = CharBuffer.allocate(carry.length * 2 + 2);
    utf8.decode(in, out, true);
    utf8.flush(out);
    carry = new byte[0];
    out.flip();
    pending.append(out);
    release(true);
    finished = true;
  }

  /** Everything released so far. */
  public String text() {
    return emitted.toString();
  }

  /** The stop string that ended the text, or null. */
  public String matchedStop() {
    return matchedStop;
  }

  /**
   * Emits pending text: up to the earliest stop string (and then finishes), or all but the longest
   * tail that is a proper prefix of a stop string (all of it when {@code all}).
   */
  private boolean release(boolean all) {
    int stopAt = -1;
    for (String stop : stopStrings) {
      int at = pending.indexOf(stop);
      if (at >= 0 && (stopAt < 0 || at < stopAt)) {
        stopAt = at;
        matchedStop = stop;
      }
    }
    if (stopAt >= 0) {
      emit(pending.substring(0, stopAt));
      pending.setLength(0);
      carry = new byte[0];
      finished = true;
      return true;
    }
    int hold = all ? 0 : heldTail();
    emit(pending.substring(0, pending.length() - hold));
    pending.delete(0, pending.length() - hold);
    return false;
  }

  /** Length of the longest suffix of the pending text that is a proper prefix of a stop string. */
  private int heldTail() {
    int longest = 0;
    int length = pending.length();
    for (String stop : stopStrings) {
      for (int k = Math.min(stop.length() - 1, length); k > longest; k--) {
        if (endsWith(length - k, stop, k)) {
          longest = k;
          break;
        }
      }
    }
    return longest;
  }

  /**
   * Whether the pending text from {@code start} on equals the first {@code k} chars of {@code
   * stop}.
   */
  private boolean endsWith(int start, String stop, int k) {
    for (int i = 0; i < k; i++) {
      if (pending.charAt(start + i) != stop.charAt(i)) {
        return false;
      }
    }
    return true;
  }

  private void emit(String text) {
    if (!text.isEmpty()) {
      emitted.append(text);
      sink.accept(text);
    }
  }
}
