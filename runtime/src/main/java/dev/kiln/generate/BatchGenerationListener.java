package dev.kiln.generate;

/** A {@link GenerationListener} for a batch: each call names the sequence (the prompt's index). */
public interface BatchGenerationListener {
  default void onToken(int sequence, int id) {}

  default void onText(int sequence, String text) {}

  BatchGenerationListener NONE = new BatchGenerationListener() {};
}
