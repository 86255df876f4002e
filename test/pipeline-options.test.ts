// The pipeline's options are one table: every row reaches every command that builds a pipeline,
// and its value reaches the settings the one assembly takes.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { annotateConfig } from '../src/cli/annotate-command.js';
import { defaultPipelineSettings, PIPELINE_OPTIONS, pipelineSettings } from '../src/cli/common-options.js';
import { parseCommandLine } from '../src/cli/options.js';
import { workerConfig } from '../src/cli/run-command.js';

/** A value other than the default for every row: a row added without one does not compile. */
const GIVEN: Record<keyof typeof PIPELINE_OPTIONS, string> = {
  model: 'remote:http://127.0.0.1:9',
  template: 'universalner',
  'entity-types': 'my-types.json',
  guidelines: 'BC5CDR',
  lexicons: 'none',
  'link-threshold': '0.7',
  'abbreviation-grounding': 'off',
  'max-sentences': '9',
  'query-batch-size': '3',
  'query-batch-wait-ms': '7',
  'query-batches-in-flight': '5',
  'inference-timeout-ms': '1234',
  'inference-token': 'secret',
  'save-answers': 'answers.jsonl',
  resume: '',
  'inference-threads': '3',
  'max-new-tokens': '11',
  constrained: 'off',
  'engine-off': 'reuse,prompt-lookup',
  dtype: 'q8',
  'execution-provider': 'cuda',
};

/** `--flag value`; '' gives a switch alone. */
const argvOf = (flags: Partial<Record<string, string>>) =>
  Object.entries(flags).flatMap(([flag, value]) => (value === '' ? [`--${flag}`] : [`--${flag}`, value!]));
const ANNOTATE_ARGS = ['--input', 'in.txt', '--input-format', 'text', '--output', 'out.jsonl', '--types', 'disease'];

/** Each command that builds a pipeline, from its own command line to the settings it assembles. */
const COMMANDS: Record<string, (argv: string[]) => unknown> = {
  run: (argv) => workerConfig(['--types', 'disease', ...argv], {}).pipeline,
  annotate: (argv) => annotateConfig([...ANNOTATE_ARGS, ...argv]).pipeline,
};

const settingsOf = (argv: string[]) =>
  pipelineSettings(parseCommandLine(argv, { synopsis: '', options: PIPELINE_OPTIONS }).values, ['disease']);

describe('pipeline options', () => {
  for (const [command, settings] of Object.entries(COMMANDS)) {
    test(`${command} takes every pipeline option into the settings it assembles`, () => {
      const argv = argvOf(GIVEN);
      assert.deepEqual(settings(argv), settingsOf(argv));
    });
  }

  test('each option changes the settings: none is parsed and then dropped', () => {
    const base = defaultPipelineSettings(GIVEN.model, ['disease']);
    for (const [flag, value] of Object.entries(GIVEN)) {
      if (flag === 'model') continue;
      assert.notDeepEqual(settingsOf(argvOf({ model: GIVEN.model, [flag]: value })), base, `--${flag} ${value} changed nothing`);
    }
  });

  test('annotate given only a model is what the benchmarks start from', () => {
    assert.deepEqual(COMMANDS.annotate!(['--model', 'models/x']), defaultPipelineSettings('models/x', ['disease']));
  });

  test('run reads each option from BIONER_<OPTION> too, and runs one inference thread unless told', () => {
    const config = workerConfig(['--model', 'models/x'], { BIONER_QUERY_BATCH_SIZE: '4', BIONER_ABBREVIATION_GROUNDING: 'off' });
    assert.equal(config.pipeline.queryBatches.size, 4);
    assert.equal(config.pipeline.abbreviationGrounding, false);
    assert.equal(config.pipeline.engine.threads, 1);
  });

  test('on|off settings refuse any other word, in one line', () => {
    assert.throws(() => settingsOf(['--model', 'm', '--constrained', 'false']), /unknown --constrained "false"; expected one of: on, off/);
  });
});
