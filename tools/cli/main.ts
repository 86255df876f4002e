// `bioner-stream <command>` with the offline tools' commands added to the runtime's.
import { dispatch, RUNTIME_COMMANDS, type Command } from '../../src/cli/commands.js';
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

const COMMANDS: Record<string, Command> = {
  ...RUNTIME_COMMANDS,
  import: { run: importCommand, summary: 'convert a GGUF file or Hugging Face checkpoint into an ONNX model directory' },
  train: { run: trainCommand, summary: 'fine-tune a model on conv_term conversations from biomedical corpora (LoRA or full)' },
  bench: script('../bench/run-bench.js', 'the inference benchmark (npm run bench; --quick for a short run)'),
  'bench-serving': script('../bench/serving-bench.js', 'in-worker inference against bioner-stream serve, over a real broker'),
  demo: script('../demo/demo.js', 'the whole streaming job with the default model on a local broker (npm run demo)'),
};

const code = await dispatch(process.argv.slice(2), COMMANDS);
// A script may have set its own exit code (the demo does when its worker fails).
process.exitCode ||= code;
