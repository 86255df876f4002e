// The imported SmolLM2 model against llama.cpp (node-llama-cpp) on the same GGUF file. Runs
// when the default model has been fetched (`npm run model:fetch`); skipped otherwise.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BASE_MODEL_DIR, BASE_MODEL_GGUF } from '../tools/default-model/default-model.js';
import { isImported } from '../tools/model-import/import-model.js';
import { compareWithLlamaCpp, CONTINUATION_TOKENS, NEAR_TIE, summarise } from './support/llama-cpp-agreement.js';

const skip = (await isImported(BASE_MODEL_GGUF, BASE_MODEL_DIR))
  ? false
  : `no imported default model at ${BASE_MODEL_DIR}: run "npm run model:fetch" to enable this test`;

const percent = (part: number, whole: number): string => `${part}/${whole} = ${((100 * part) / whole).toFixed(2)}%`;

test('the imported GGUF model agrees with llama.cpp on conv_term prompts', { skip, timeout: 600_000 }, async (t) => {
  const s = summarise(await compareWithLlamaCpp(BASE_MODEL_DIR, BASE_MODEL_GGUF));
  t.diagnostic(`prompts ${s.prompts}; tokenised as llama.cpp tokenises them: ${s.sameTokenisation}`);
  t.diagnostic(`next-token argmax agreement with llama.cpp: ${percent(s.agreeing, s.positions)}; ` +
    `where the ONNX top-2 logit gap >= ${NEAR_TIE}: ${percent(s.decisiveAgreeing, s.decisive)}; ` +
    `largest ONNX gap where they differ: ${s.largestDisagreeingGap.toFixed(3)}`);
  t.diagnostic(`llama.cpp against itself (token by token vs batched prompt): ${percent(s.llamaSelfAgreeing, s.positions)}`);
  t.diagnostic(`identical greedy answers (to the end of turn, at most ${CONTINUATION_TOKENS} tokens): ${s.identicalContinuations}/${s.prompts}; ` +
    `matching prefixes [${s.matchingPrefixes.join(', ')}]; first differences at near-ties (gap < ${NEAR_TIE}): ` +
    `${s.divergencesAtNearTies}/${s.prompts - s.identicalContinuations}`);
  t.diagnostic(`throughput (prompt + ${CONTINUATION_TOKENS} tokens, batch 1): ONNX ${s.onnxTokensPerSecond.toFixed(0)} tok/s, ` +
    `llama.cpp ${s.llamaTokensPerSecond.toFixed(0)} tok/s, ratio ${(s.onnxTokensPerSecond / s.llamaTokensPerSecond).toFixed(2)}`);

  assert.ok(s.prompts >= 20);
  assert.equal(s.sameTokenisation, s.prompts, 'the tokenizer rebuilt from GGUF metadata tokenises as llama.cpp does');
  // Where the choice is decisive the engines must agree; near-ties flip with arithmetic order,
  // and llama.cpp does not agree with itself across batch sizes, so overall agreement is held
  // to llama.cpp's own level.
  assert.ok(s.decisiveAgreeing >= 0.99 * s.decisive, `agreement at decisive positions: ${percent(s.decisiveAgreeing, s.decisive)}`);
  assert.ok(s.agreeing >= s.llamaSelfAgreeing - 0.01 * s.positions,
    `agreement ${percent(s.agreeing, s.positions)} is under llama.cpp's self-agreement ${percent(s.llamaSelfAgreeing, s.positions)}`);
  assert.equal(s.divergencesAtNearTies, s.prompts - s.identicalContinuations, 'continuations part only at near-ties');
  assert.equal(s.cacheConsistent, s.prompts, 'the KV-cached continuation is the full-forward argmax chain');
});
