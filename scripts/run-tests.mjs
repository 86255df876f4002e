#!/usr/bin/env node
// `npm test` after setup: starts a real Kafka broker for the whole run (the suite's global
// setup), runs node's test runner over the compiled tests, and stops the broker whatever happens.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBroker } from './kafka-broker.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// By default the tests in dist/test itself; the long fault runs in dist/test/faults run on their own (npm run test:faults).
const files = process.argv.length > 2
  ? process.argv.slice(2)
  : readdirSync(join(root, 'dist', 'test')).filter((f) => f.endsWith('.test.js')).map((f) => join('dist', 'test', f));

const broker = await startBroker();
console.error(`run-tests: Kafka broker at ${broker.bootstrap}`);
let code = 1;
try {
  const runner = spawn(process.execPath, ['--test', '--test-reporter=spec', ...files], {
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
