// The project's npm configuration: onnxruntime-node's CUDA download stays off on a fresh clone,
// through a key npm knows, so no npm command warns that the setting will stop working.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { projectPath } from '../src/project.js';

const run = promisify(execFile);

test('npm reads the project config without warnings, and install scripts (the CUDA download) are off', async () => {
  const { stdout, stderr } = await run('npm', ['config', 'get', 'ignore-scripts'], { cwd: projectPath() });
  assert.equal(stdout.trim(), 'true');
  assert.doesNotMatch(stderr, /npm warn/i);
});
