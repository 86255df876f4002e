#!/usr/bin/env node
// `npm test` after setup: starts a real Kafka broker for the whole run (the suite's global
// setup), runs node's test runner over the compiled tests, and stops the broker whatever happens.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBroker } from './kafka-broker.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const files = process.argv.slice(2);

const broker = await startBroker();
console.error(`run-tests: Kafka broker at ${broker.bootstrap}`);
let code = 1;
try {
  const runner = spawn(process.execPath, ['--test', '--test-reporter=spec', ...(files.length ? files : ['dist/test/'])], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, BIONER_TEST_BROKERS: broker.bootstrap },
  });
  const stop = (signal) => runner.kill(signal);
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  code = await new Promise((resolve) => runner.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0))));
} finally {
  await broker.stop();
}
process.exit(code);
