// `bioner-stream <command>` with the offline tools' commands added to the runtime's.
import { dispatch, RUNTIME_COMMANDS } from '../../src/cli/commands.js';
import { importCommand } from './import-command.js';

const COMMANDS = {
  ...RUNTIME_COMMANDS,
  import: { run: importCommand, summary: 'convert a GGUF file or Hugging Face checkpoint into an ONNX model directory' },
};

process.exitCode = await dispatch(process.argv.slice(2), COMMANDS);
