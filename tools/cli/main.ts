// `bioner-stream <command>` with the offline tools' commands added to the runtime's.
import { dispatch, RUNTIME_COMMANDS, type Command } from '../../src/cli/commands.js';
import { ensureDefaultModel } from '../default-model/default-model.js';
import { trainCommand } from '../train/train-command.js';
import { importCommand } from './import-command.js';

/** The benchmarks and the demo are scripts that read process.argv: the command hands its arguments on. */
const script = (path: string, summary: string): Command => ({
  summary,
  run: async (argv) => {
    process.argv = [process.argv[0]!, path, ...argv];
    await import(path);
  },
});

/**
 * A runtime command that takes a model, given the default one (fetched, merged and cached on
 * first use) when neither --model nor BIONER_MODEL names one. The runtime image has no tools:
 * its pods get a model directory from the model-import init container.
 */
const withDefaultModel = (command: Command): Command => ({
  summary: command.summary,
  run: async (argv) => {
    const named = process.env.BIONER_MODEL || argv.some((a) => a === '--help' || a === '--model' || a.startsWith('--model='));
    await command.run(named ? argv : ['--model', await ensureDefaultModel(), ...argv]);
  },
});

const COMMANDS: Record<string, Command> = {
  ...RUNTIME_COMMANDS,
  annotate: withDefaultModel(RUNTIME_COMMANDS.annotate!),
  run: withDefaultModel(RUNTIME_COMMANDS.run!),
  serve: withDefaultModel(RUNTIME_COMMANDS.serve!),
  import: { run: importCommand, summary: 'convert a GGUF file or Hugging Face checkpoint into an ONNX model directory' },
  train: { run: trainCommand, summary: 'fine-tune a model on conv_term conversations from biomedical corpora (LoRA or full)' },
  bench: script('../bench/run-bench.js', 'the inference benchmark (npm run bench; --quick for a short run)'),
  'bench-serving': script('../bench/serving-bench.js', 'in-worker inference against bioner-stream serve, over a real broker'),
  demo: script('../demo/demo.js', 'the whole streaming job with the default model on a local broker (npm run demo)'),
};

const code = await dispatch(process.argv.slice(2), COMMANDS);
// A script may have set its own exit code (the demo does when its worker fails).
process.exitCode ||= code;
