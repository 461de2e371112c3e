package dev.kiln.tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The tokens of a tokenizer: their texts and types, lookup by text, the special ids, and the
 * splitting of input text at special and user-defined tokens.
 */
final class Vocabulary {
  private static final Pattern BYTE_TOKEN = Pattern.compile("<0x([0-9A-Fa-f]{2})>");

  /** A piece of input text: either text to encode (id -1) or one special or user-defined token. */
  record Fragment(int start, int end, int id) {
    boolean isToken() {
      return id >= 0;
    }
  }

  private final String[] texts;
  private final TokenType[] types;

  /** Every token by text; when a text occurs twice, the lower id. */
  private final Map<String, Integer> ids;

  /** Control, unknown and user-defined tokens by text. */
  private final Map<String, Integer> specialIds;

  /** Texts of control, unknown and user-defined tokens by first char, longest first. */
  private final Map<Character, String[]> matchable;

  final int bos;
  final int eos;
  final int eot;
  final int unk;

  Vocabulary(String[] texts, TokenType[] types, int bos, int eos, int eot, int unk) {
    if (texts.length != types.length) {
      throw new IllegalArgumentException(texts.length + " tokens but " + types.length + " types");
    }
    for (int special : new int[] {bos, eos, eot, unk}) {
      if (special < -1 || special >= texts.length) {
        throw new IllegalArgumentException(
            "special id " + special + " outside the vocabulary of " + texts.length);
      }
    }
    this.texts = texts;
    this.types = types;
    this.bos = bos;
    this.eos = eos;
    this.eot = eot;
    this.unk = unk;
    Map<String, Integer> byText = HashMap.newHashMap(texts.length);
    Map<String, Integer> specials = new HashMap<>();
    Map<Character, List<String>> byFirst = new HashMap<>();
    for (int id = 0; id < texts.length; id++) {
      byText.putIfAbsent(texts[id], id);
      if (isMatchable(types[id])
          && specials.putIfAbsent(texts[id], id) == null
          && !texts[id].isEmpty()) {
        byFirst.computeIfAbsent(texts[id].charAt(0), c -> new ArrayList<>()).add(texts[id]);
      }
    }
    this.ids = byText;
    this.specialIds = specials;
    Map<Character, String[]> sorted = new HashMap<>();
    byFirst.forEach(
        (c, list) -> {
          String[] array = list.toArray(String[]::new);
          Arrays.sort(array, Comparator.comparingInt(String::length).reversed());
          sorted.put(c, array);
        });
    this.matchable = Collections.unmodifiableMap(sorted);
  }

  private static boolean isMatchable(TokenType type) {
    return type == TokenType.CONTROL || type == TokenType.UNKNOWN || type == TokenType.USER_DEFINED;
  }

  int size() {
    return texts.length;
  }

  String text(int id) {
    return texts[id];
  }

  TokenType type(int id) {
    return types[id];
  }

  /** The id of the token with text {@code text} (the lowest if several), or -1. */
  int id(String text) {
    Integer id = ids.get(text);
    return id == null ? -1 : id;
  }

  /** The id of the control, unknown or user-defined token with text {@code text}, or -1. */
  int specialId(String text) {
    Integer id = specialIds.get(text);
    return id == null ? -1 : id;
  }

  /** The byte a {@code <0xNN>} text stands for, or -1 for any other text. */
  static int byteOf(String text) {
    Matcher m = BYTE_TOKEN.matcher(text);
    return m.matches() ? Integer.parseInt(m.group(1), 16) : -1;
  }

  /** Whether {@code text} has the form {@code <0xNN>}. */
  static boolean isByteText(String text) {
    return byteOf(text) >= 0;
  }

  /**
   * Splits {@code text} at the user-defined tokens in it and, with {@code parseSpecial}, the
   * control and unknown tokens: at each position the longest such token that starts there is taken.
   */
  List<Fragment> partition(String text, boolean parseSpecial) {
    return partition(text, parseSpecial ? i -> true : i -> false);
  }

  /**
   * {@link #partition(String, boolean)} where a control or unknown token is matched only where it
   * starts at a position {@code parseSpecialAt} accepts (user-defined tokens match everywhere).
   */
  List<Fragment> partition(String text, java.util.function.IntPredicate parseSpecialAt) {
    List<Fragment> fragments = new ArrayList<>();
    int textStart = 0;
    int i = 0;
    while (i < text.length()) {
      String[] candidates = matchable.get(text.charAt(i));
      int match = -1;
      if (candidates != null) {
        for (String candidate : candidates) {
          if (text.startsWith(candidate, i)) {
            int id = specialIds.get(candidate);
            if (types[id] == TokenType.USER_DEFINED || parseSpecialAt.test(i)) {
              match = id;
              break;
            }
          }
        }
      }
      if (match < 0) {
        i++;
        continue;
      }
      if (i > textStart) {
        fragments.add(new Fragment(textStart, i, -1));
      }
      int end = i + texts[match].length();
      fragments.add(new Fragment(i, end, match));
      i = end;
      textStart = end;
    }
    if (textStart < text.length()) {
      fragments.add(new Fragment(textStart, text.length(), -1));
    }
    return fragments;
  }
}
