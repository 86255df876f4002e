// The trainer's Python environment: a venv in .cache/train-venv with the pinned requirements,
// made on first use and remade when the requirements change, like the Kafka jars.
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { projectPath } from '../../src/project.js';

const run = promisify(execFile);
export const TRAINER_DIR = projectPath('tools', 'train', 'trainer');
const REQUIREMENTS = join(TRAINER_DIR, 'requirements.txt');
const VENV = projectPath('.cache', 'train-venv');
const STAMP = join(VENV, 'requirements.sha256');

/** The venv's python, installing the requirements first if they are not what the stamp says. */
export async function trainerPython(log: (line: string) => void): Promise<string> {
  const python = join(VENV, 'bin', 'python');
  const wanted = createHash('sha256').update(readFileSync(REQUIREMENTS)).digest('hex');
  if (existsSync(python) && existsSync(STAMP) && readFileSync(STAMP, 'utf8').trim() === wanted) return python;
  log(`installing the trainer's Python packages into ${VENV} (torch, transformers, peft; about 5.6 GB, a few minutes)`);
  if (!existsSync(python)) await run('python3', ['-m', 'venv', VENV]);
  await runPython(python, ['-m', 'pip', 'install', '--disable-pip-version-check', '--quiet', '-r', REQUIREMENTS]);
  await writeFile(STAMP, `${wanted}\n`);
  return python;
}

/** Runs python with the output passed through; rejects on a non-zero exit or a signal. */
export function runPython(python: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, args, { stdio: 'inherit', env: { ...process.env, PYTHONUNBUFFERED: '1' } });
    child.on('error', reject);
    child.on('exit', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`${args[0]} ${signal ? `was killed by ${signal}` : `exited with code ${code}`}`)));
  });
}
