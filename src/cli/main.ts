// `bioner-stream <command>` with the runtime's commands only: what the runtime image runs.
import { dispatch, RUNTIME_COMMANDS } from './commands.js';

process.exitCode = await dispatch(process.argv.slice(2), RUNTIME_COMMANDS);
