// `bioner-stream <command>`: dispatches to the commands and turns their errors into one clear line.
import { annotateCommand } from './annotate-command.js';
import { evalCommand } from './eval-command.js';
import { importCommand } from './import-command.js';
import { lexiconCommand } from './lexicon-command.js';
import { runCommand } from './run-command.js';
import { serveCommand } from './serve-command.js';
import { trainCommand } from '../../tools/train/train-command.js';
import { UsageError } from './args.js';

const COMMANDS: Record<string, { run: (argv: string[]) => Promise<void>; summary: string }> = {
  annotate: { run: annotateCommand, summary: 'annotate a corpus file, writing EntityRecords (JSON lines), PubTator or BioC' },
  eval: { run: evalCommand, summary: 'score predicted EntityRecords against gold annotations' },
  import: { run: importCommand, summary: 'convert a GGUF file or Hugging Face checkpoint into an ONNX model directory' },
  lexicon: { run: lexiconCommand, summary: 'build a concept lexicon from gold corpora, or the default lexicons' },
  run: { run: runCommand, summary: 'run the Kafka consumer-group worker' },
  train: { run: trainCommand, summary: 'fine-tune a model on conv_term conversations from biomedical corpora (LoRA or full)' },
  serve: { run: serveCommand, summary: 'serve the model over HTTP to many workers (native batches, OpenAI chat completions)' },
};

const USAGE = `usage: bioner-stream <command> [options]

commands:
${Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`).join('\n')}

Run "bioner-stream <command> --help" for a command's options.`;

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    console.log(USAGE);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`bioner-stream: unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  try {
    await command.run(rest);
    return 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    console.error(`bioner-stream ${name}: error: ${message}`);
    if (error instanceof UsageError) console.error(`Run "bioner-stream ${name} --help" for usage.`);
    return error instanceof UsageError ? 2 : 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
