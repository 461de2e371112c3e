package dev.kiln.tokenizer;

import java.util.List;
import java.util.PriorityQueue;

/**
 * Byte-pair merging of a row of symbols: repeatedly merges the adjacent pair with the highest
 * priority (on a tie, the leftmost pair) until no adjacent pair can merge. SentencePiece BPE gives
 * a pair the score of the token it makes; rank-based BPE gives it minus the merge's rank. A
 * priority queue over the pairs and a linked list of symbols make this O(n log n), as llama.cpp and
 * Hugging Face do; pairs whose symbols have changed since they were queued are dropped when they
 * come up.
 */
final class PairMerger {
  /** Whether and how two adjacent symbols merge. */
  interface Rule {
    /**
     * The token that symbols {@code left} and {@code right} (ids, -1 for a symbol with no token,
     * and texts) merge into, with the merge's priority; null if they do not merge.
     */
    Merge merge(int leftId, String leftText, int rightId, String rightText);
  }

  record Merge(int id, double priority) {}

  /** The symbols left after merging, in order. */
  record Symbols(int[] ids, String[] texts) {}

  private record Candidate(int left, int right, int leftVersion, int rightVersion, Merge merge) {}

  private PairMerger() {}

  /** Merges the symbols with initial ids {@code ids} (-1: no token) and texts {@code texts}. */
  static Symbols merge(List<String> texts, int[] ids, Rule rule) {
    int n = texts.size();
    String[] text = texts.toArray(String[]::new);
    int[] id = ids.clone();
    int[] prev = new int[n];
    int[] next = new int[n];
    int[] version = new int[n];
    for (int i = 0; i < n; i++) {
      prev[i] = i - 1;
      next[i] = i + 1 < n ? i + 1 : -1;
    }
    PriorityQueue<Candidate> queue =
        new PriorityQueue<>(
            Math.max(1, n),
            (a, b) -> {
              int byPriority = Double.compare(b.merge().priority(), a.merge().priority());
              return byPriority != 0 ? byPriority : Integer.compare(a.left(), b.left());
            });
    for (int i = 0; i + 1 < n; i++) {
      offer(queue, rule, text, id, version, i, i + 1);
    }
    while (!queue.isEmpty()) {
      Candidate c = queue.poll();
      if (version[c.left()] != c.leftVersion()
          || version[c.right()] != c.rightVersion()
          || next[c.left()] != c.right()) {
        continue; // one of its symbols was merged since
      }
      int left = c.left();
      int right = c.right();
      text[left] = text[left] + text[right];
      id[left] = c.merge().id();
      version[left]++;
      version[right]++;
      text[right] = null;
      next[left] = next[right];
      if (next[left] >= 0) {
        prev[next[left]] = left;
      }
      if (prev[left] >= 0) {
        offer(queue, rule, text, id, version, prev[left], left);
      }
      if (next[left] >= 0) {
        offer(queue, rule, text, id, version, left, next[left]);
      }
    }
    int count = 0;
    for (int i = n == 0 ? -1 : 0; i >= 0; i = next[i]) {
      count++;
    }
    int[] outIds = new int[count];
    String[] outTexts = new String[count];
    int k = 0;
    for (int i = n == 0 ? -1 : 0; i >= 0; i = next[i]) {
      outIds[k] = id[i];
      outTexts[k++] = text[i];
    }
    return new Symbols(outIds, outTexts);
  }

  private static void offer(
      PriorityQueue<Candidate> queue,
      Rule rule,
      String[] text,
      int[] id,
      int[] version,
      int left,
      int right) {
    Merge merge = rule.merge(id[left], text[left], id[right], text[right]);
    if (merge != null) {
      queue.add(new Candidate(left, right, version[left], version[right], merge));
    }
  }
}
