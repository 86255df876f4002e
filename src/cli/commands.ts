// The runtime's commands and the dispatcher that turns their errors into one clear line. The
// tools CLI (tools/cli/main.ts) adds its own commands to the same table.
import { FileFormatError } from '../domain/file-format-error.js';
import { ModelNotFoundError } from '../inference/create-backend.js';
import { annotateCommand } from './annotate-command.js';
import { UsageError } from './options.js';
import { evalCommand } from './eval-command.js';
import { lexiconCommand } from './lexicon-command.js';
import { produceCommand } from './produce-command.js';
import { runCommand } from './run-command.js';
import { serveCommand } from './serve-command.js';
import { Interrupted } from './shutdown.js';
import { tailCommand } from './tail-command.js';

export interface Command {
  run: (argv: string[]) => Promise<void>;
  summary: string;
}

export const RUNTIME_COMMANDS: Record<string, Command> = {
  annotate: { run: annotateCommand, summary: 'annotate a corpus file, writing EntityRecords (JSON lines), PubTator or BioC' },
  eval: { run: evalCommand, summary: 'score predicted EntityRecords against gold annotations' },
  lexicon: { run: lexiconCommand, summary: 'build a concept lexicon from gold corpora, or the default lexicons' },
  produce: { run: produceCommand, summary: 'put a corpus file on the input topic as Avro Documents' },
  run: { run: runCommand, summary: 'run the Kafka consumer-group worker' },
  serve: { run: serveCommand, summary: 'serve the model over HTTP to many workers (native batches, OpenAI chat completions)' },
  tail: { run: tailCommand, summary: 'print the entities, annotated documents or dead letters of the Kafka topics as JSON lines' },
};

function usage(commands: Record<string, Command>): string {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  return `usage: bioner-stream <command> [options]

commands:
${Object.entries(commands).sort(([a], [b]) => a.localeCompare(b)).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`).join('\n')}

Run "bioner-stream <command> --help" for a command's options.`;
}

/** A mistake in the call or in a file it names (an input, lexicon or answers file, the model): exit code 2. */
const isUsageMistake = (error: unknown): boolean =>
  error instanceof UsageError || error instanceof FileFormatError || error instanceof ModelNotFoundError;

/**
 * Runs `bioner-stream NAME ARGS` from `commands`; resolves with the exit code: 0, 2 for a
 * mistake in the call or its files, 1 for a failure while running. An `Interrupted` command exits 130 at once, since the
 * work it abandoned would keep the process alive.
 */
export async function dispatch(argv: string[], commands: Record<string, Command>): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    console.log(usage(commands));
    return name === undefined ? 2 : 0;
  }
  const command = commands[name];
  if (!command) {
    console.error(`bioner-stream: unknown command "${name}"\n\n${usage(commands)}`);
    return 2;
  }
  try {
    await command.run(rest);
    return 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof Interrupted) {
      console.error(`bioner-stream ${name}: interrupted: ${message}`);
      process.exit(130);
    }
    console.error(`bioner-stream ${name}: error: ${message}`);
    if (error instanceof UsageError) console.error(`Run "bioner-stream ${name} --help" for usage.`);
    return isUsageMistake(error) ? 2 : 1;
  }
}
