// The name a model directory goes by in records, /v1/models and logs: `NAME@VERSION`, its
// folder's name and a short content hash of what decides its answers (the weights it loads, its
// config, tokenizer, chat template and guidelines). The same model thus reads the same wherever
// it lies, and any change to what it answers reads differently; no import step has to write it.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { modelPath, type ModelDtype } from './decoder-session.js';

/** Beside the weights; tokenizer_config.json holds the chat template. */
const ANSWERING_FILES = ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'guidelines.json'];

/** Hex digits of the version: as short as a git or Docker short id. */
const VERSION_DIGITS = 12;

export async function modelIdentity(modelDir: string, dtype?: ModelDtype): Promise<string> {
  const files = [...ANSWERING_FILES.map((name) => join(modelDir, name)).filter((path) => existsSync(path)), modelPath(modelDir, dtype)];
  const hash = createHash('sha256');
  for (const file of files) {
    hash.update(`${basename(file)}\0${statSync(file).size}\0`);
    for await (const chunk of createReadStream(file, { highWaterMark: 4 << 20 })) hash.update(chunk as Buffer);
  }
  return `${basename(resolve(modelDir))}@${hash.digest('hex').slice(0, VERSION_DIGITS)}`;
}
