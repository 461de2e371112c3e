/**
 * Tokenizers: text to token ids and back, read from the files a model comes in.
 *
 * <p>{@link dev.kiln.tokenizer.Tokenizers} reads a GGUF file's {@code tokenizer.ggml.*} metadata
 * ({@code "llama"}: SentencePiece-style BPE; {@code "gpt2"}: byte-level BPE), a Hugging Face {@code
 * tokenizer.json} (BPE, byte-level or SentencePiece-style) with its {@code tokenizer_config.json},
 * or a llama2.c {@code tokenizer.bin}. All give a {@link dev.kiln.tokenizer.Tokenizer}; {@link
 * dev.kiln.tokenizer.StreamingDecoder} turns ids into text as they are generated.
 *
 * <p>Choices made where the references differ or say nothing:
 *
 * <ul>
 *   <li>SentencePiece-style encoding follows llama.cpp: the space prefix goes before the text at
 *       its start and after every special or user-defined token matched in it; the pair whose
 *       merged text has the highest score merges first, the leftmost on a tie. Unlike llama.cpp,
 *       only normal and user-defined tokens are merge results (as in SentencePiece), so typing
 *       {@code "<s>"} never makes the BOS token by merging; and a character with neither a token
 *       nor a byte token becomes the unknown token (llama.cpp throws).
 *   <li>Decoding drops one leading space from the first text of a sequence and from the first text
 *       after each BOS token (SentencePiece's and llama2.c's convention); not after other special
 *       or user-defined tokens, so {@code decode(encode("a<tag>b"))} is {@code "a<tag> b"} when
 *       {@code <tag>} is a user-defined token, as in llama.cpp and Hugging Face. A byte token's
 *       space is never dropped.
 *   <li>Control and unknown tokens decode to nothing unless rendering is asked for, then to their
 *       text. User-defined tokens decode to their text as stored, except that those of a
 *       SentencePiece-style {@code tokenizer.json} decode with "▁" as a space, as Hugging Face's
 *       decoder does (Gemma's whitespace tokens {@code "▁▁"}, ...); GGUF converters already store
 *       such tokens with spaces.
 *   <li>Special tokens are matched in the input only with {@code parseSpecial}; user-defined tokens
 *       always. At each position the longest match wins. Hugging Face's {@code lstrip}, {@code
 *       rstrip}, {@code single_word} and {@code normalized} flags of added tokens are not applied.
 *   <li>When a text occurs as two tokens, lookups by text give the lower id (llama.cpp keeps the
 *       higher).
 *   <li>GGUF: missing {@code bos_token_id}, {@code eos_token_id} and {@code unknown_token_id} of a
 *       {@code "llama"} tokenizer are 1, 2 and 0 (llama.cpp's defaults); an id stored as -1 or
 *       {@code 0xFFFFFFFF} means none; any other id outside the vocabulary is an error. {@code
 *       tokenizer.ggml.pre} {@code "llama-bpe"}, {@code "llama3"} and {@code "smaug-bpe"} select
 *       Llama 3's split pattern and {@code ignore_merges}; {@code "gpt2"}, {@code "default"} or
 *       none select GPT-2's; other pre-tokenizers are refused. A merge naming a token that is not
 *       in the vocabulary is an error (llama.cpp ignores it).
 *   <li>The end-of-turn token is {@code tokenizer.ggml.eot_token_id} when given, else the first of
 *       {@code <|eot_id|>}, {@code <|im_end|>}, {@code <|end|>}, {@code <end_of_turn>}, {@code
 *       <|end_of_turn|>}, {@code <EOT>}, {@code <|eot|>} that the vocabulary has.
 *   <li>Java strings may hold unpaired surrogates, which UTF-8 cannot; they are encoded as U+FFFD.
 * </ul>
 *
 * <p>{@code decode(encode(s)) == s} holds for any text every character of which has a token or byte
 * tokens, except a SentencePiece-style text with "▁" in it (which reads back as a space), text a
 * Unicode normalizer changes, and Hugging Face's Metaspace {@code prepend_scheme} texts that start
 * with a space (the prefix is then not added, and decoding drops the text's own space).
 */
package dev.kiln.tokenizer;
