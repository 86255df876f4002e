// What inference did: the totals that backends keep and the metrics read.

/** Monotonic totals of a backend's work: each maps onto a Prometheus counter. */
export interface InferenceCounters {
  /** answer() calls completed. */
  batches: number;
  /** (sentence, type) answers returned. */
  answers: number;
  /** Prompt tokens fed to the model. */
  promptTokens: number;
  /** Prompt tokens served from the KV cache instead of being fed. */
  cachedPromptTokens: number;
  /** Tokens generated (end-of-turn tokens excluded). */
  generatedTokens: number;
  /** Generated tokens where constrained decoding replaced the model's first choice. */
  constraintOverrides: number;
  /** Time the model spent in forward passes. */
  forwardSeconds: number;
}
