// `bioner-stream <command>` with the offline tools' commands added to the runtime's.
import { checkedAnnotateConfig } from '../../src/cli/annotate-command.js';
import { dispatch, RUNTIME_COMMANDS, type Command } from '../../src/cli/commands.js';
import { workerConfig } from '../../src/cli/run-command.js';
import { serveConfig } from '../../src/cli/serve-command.js';
import { conceptOracleCommand } from '../bench/concept-oracle.js';
import { conceptsEndToEndCommand } from '../bench/concepts-end-to-end.js';
import { lexiconBenchCommand } from '../bench/lexicon-bench.js';
import { matmulKernelsCommand } from '../bench/matmul-kernels.js';
import { benchCommand } from '../bench/run-bench.js';
import { servingBenchCommand } from '../bench/serving-bench.js';
import { soakBenchCommand } from '../bench/soak-bench.js';
import { variantsBenchCommand } from '../bench/variants-bench.js';
import { DEFAULT_MODEL_DIR, ensureDefaultModel } from '../default-model/default-model.js';
import { demoCommand } from '../demo/demo.js';
import { evaluateModelCommand } from '../train/evaluate-model.js';
import { trainCommand } from '../train/train-command.js';
import { importCommand } from './import-command.js';

/**
 * A runtime command that takes a model, given the default one (fetched, merged and cached on
 * first use) when neither --model nor BIONER_MODEL names one. Its options are parsed first
 * (`parse`), so a usage mistake costs no fetch. The runtime image has no tools: its pods get a
 * model directory from the model-import init container.
 */
const withDefaultModel = (command: Command, parse: (argv: string[]) => unknown): Command => ({
  summary: command.summary,
  run: async (argv) => {
    const named = process.env.BIONER_MODEL || argv.some((a) => a === '--help' || a === '--model' || a.startsWith('--model='));
    if (named) return command.run(argv);
    parse(['--model', DEFAULT_MODEL_DIR, ...argv]);
    await command.run(['--model', await ensureDefaultModel(), ...argv]);
  },
});

const COMMANDS: Record<string, Command> = {
  ...RUNTIME_COMMANDS,
  annotate: withDefaultModel(RUNTIME_COMMANDS.annotate!, checkedAnnotateConfig),
  run: withDefaultModel(RUNTIME_COMMANDS.run!, (argv) => workerConfig(argv)),
  serve: withDefaultModel(RUNTIME_COMMANDS.serve!, (argv) => serveConfig(argv)),
  import: { run: importCommand, summary: 'convert a GGUF file or Hugging Face checkpoint into an ONNX model directory' },
  train: { run: trainCommand, summary: 'fine-tune a model on conv_term conversations from biomedical corpora (LoRA or full)' },
  'evaluate-model': { run: evaluateModelCommand, summary: "a model's strict and lenient F1 on the recipe corpora, next to the oracle's" },
  demo: { run: demoCommand, summary: 'the whole streaming job with the default model on a local broker (npm run demo)' },
  bench: { run: benchCommand, summary: 'the inference benchmark (npm run bench; --quick for a short run)' },
  'bench-serving': { run: servingBenchCommand, summary: 'in-worker inference against bioner-stream serve, over a real broker (npm run bench:serving)' },
  'bench-soak': { run: soakBenchCommand, summary: 'a long at-least-once run with a worker killed and the broker restarted (npm run bench:soak)' },
  'bench-concept-oracle': { run: conceptOracleCommand, summary: 'concept linking alone on gold mentions: id accuracy, time and memory' },
  'bench-concepts': { run: conceptsEndToEndCommand, summary: 'annotate + eval with concepts, abbreviation grounding on and off' },
  'bench-lexicon': { run: lexiconBenchCommand, summary: 'load time and memory of a synthetic lexicon of a million names' },
  'bench-variants': { run: variantsBenchCommand, summary: 'prefill and decode times and memory of the weight variants, each in a process of its own' },
  'bench-matmul': { run: matmulKernelsCommand, summary: "one product of the model's shapes in each ONNX Runtime CPU kernel" },
};

const code = await dispatch(process.argv.slice(2), COMMANDS);
// The demo sets its own exit code when its worker fails.
process.exitCode ||= code;
