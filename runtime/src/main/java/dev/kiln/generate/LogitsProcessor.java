package dev.kiln.generate;

/**
 * One stage of a {@link SamplerChain}: rescales or removes {@link Candidates} before the final
 * pick. Stages run in the order they were added to the chain. A stage must be stateless (a chain
 * and its {@link SamplerChain#withSeed copies} share their stages); scratch space belongs in the
 * candidates.
 */
@FunctionalInterface
public interface LogitsProcessor {
  /**
   * Processes the candidates for the next token.
   *
   * @param history the sequence so far (prompt and generated tokens), oldest first
   * @param historyLength how many entries of {@code history} are in use
   */
  void process(Candidates candidates, int[] history, int historyLength);
}
