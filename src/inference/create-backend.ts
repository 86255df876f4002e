// Picks a backend from a model spec: `oracle:GOLD_FILE`, `replay:ANSWERS_FILE`, inference servers (`remote:URL[,URL]`,
// `openai:URL[,URL]`) or a local ONNX model directory.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readCorpus, type CorpusFormat } from '../corpora/index.js';
import type { PromptTemplate } from '../domain/prompt-template.js';
import type { EntityTypes } from '../stages/entity-types.js';
import { ReplayBackend } from './answer-log.js';
import type { ModelBackend } from './model-backend.js';
import { DEFAULT_ENGINE_OPTIONS, OnnxBackend, type OnnxEngineOptions } from './onnx/onnx-backend.js';
import { OracleBackend } from './oracle-backend.js';
import { OpenAiBackend } from './remote/openai-backend.js';
import { RemoteBackend } from './remote/remote-backend.js';
import type { RemoteOptions } from './remote/server-connection.js';

export interface BackendOptions {
  template: PromptTemplate;
  entityTypes: EntityTypes;
  engine?: Partial<Omit<OnnxEngineOptions, 'modelDir'>>;
  /** How `remote:` and `openai:` backends reach their servers. */
  remote?: Partial<RemoteOptions>;
}

/** The model spec names no model there is: a mistake in the call, not a failure while running. */
export class ModelNotFoundError extends Error {}

export async function createBackend(spec: string, options: BackendOptions): Promise<ModelBackend> {
  if (spec.startsWith('oracle:')) {
    const goldFile = spec.slice('oracle:'.length);
    if (!existsSync(goldFile)) throw new ModelNotFoundError(`oracle gold file not found: ${goldFile}`);
    const corpus = await readCorpus(goldFile, goldFormatOf(goldFile));
    return new OracleBackend(corpus, options.entityTypes, spec);
  }
  if (spec.startsWith('replay:')) {
    const answersFile = spec.slice('replay:'.length);
    if (!existsSync(answersFile)) throw new ModelNotFoundError(`replay answers file not found: ${answersFile}`);
    return new ReplayBackend(answersFile);
  }
  if (spec.startsWith('remote:')) return RemoteBackend.connect(spec, options.template, options.remote);
  if (spec.startsWith('openai:')) {
    const maxNewTokens = options.engine?.maxNewTokens ?? DEFAULT_ENGINE_OPTIONS.maxNewTokens;
    return OpenAiBackend.connect(spec, options.template, { ...options.remote, maxNewTokens });
  }
  if (!existsSync(join(spec, 'config.json'))) {
    throw new ModelNotFoundError(`model not found: ${spec} is not a model directory (no config.json); ` +
      'give a directory with config.json, tokenizer files and onnx/model.onnx, oracle:GOLD_FILE, replay:ANSWERS_FILE, remote:URL or openai:URL');
  }
  return OnnxBackend.start(options.template, { ...options.engine, modelDir: spec });
}

/** PubTator files say so in their name; the tokenised corpora are IOB. */
function goldFormatOf(file: string): CorpusFormat {
  if (/\.xml$/i.test(file)) return 'bioc-xml';
  if (/\.json$/i.test(file)) return 'bioc-json';
  return /\.pubtator$|pubtator/i.test(file) ? 'pubtator' : 'iob';
}
