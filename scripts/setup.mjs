// Makes a fresh clone runnable: npm packages, the compiled TypeScript, the default concept
// lexicons (shipped in dist/lexicons) and the generated test model. Every step is skipped when
// already done (the lexicons take seconds and are rebuilt), so `npm test` and `npm run demo` can call it.
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = (command, args) => execFileSync(command, args, { cwd: root, stdio: 'inherit' });
const mtime = (path) => (existsSync(path) ? statSync(path).mtimeMs : 0);

const installed = join(root, 'node_modules', '.package-lock.json');
if (mtime(installed) < mtime(join(root, 'package-lock.json'))) {
  console.error('setup: installing npm packages (npm ci)');
  run('npm', ['ci', '--no-audit', '--no-fund']);
}

run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.json')]);
run(process.execPath, [join(root, 'scripts', 'build-lexicons.mjs')]);
run(process.execPath, [join(root, 'scripts', 'build-test-model.mjs')]);
