// Where the project's own files are, wherever the process was started from.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file runs from dist/src/). */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const projectPath = (...parts: string[]): string => resolve(PROJECT_ROOT, ...parts);

export const PIPELINE_VERSION: string = JSON.parse(
  readFileSync(projectPath('package.json'), 'utf8'),
).version;

export function readJson<T>(path: string): T {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (error) {
    throw new Error(`cannot read ${path}: ${(error as Error).message}`);
  }
}
