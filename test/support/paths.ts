// Paths the tests share: the CLI, the generated test model, and the shared corpora (optional).
import { existsSync } from 'node:fs';
import { projectPath } from '../../src/project.js';

export { CLI } from '../../tools/bench/cli-process.js';
export const FIXTURES = projectPath('test', 'fixtures');
export const SHARED_DATA = projectPath('..', 'shared', 'data');
export const NCBI_TEST = projectPath('..', 'shared', 'data', 'ncbi-disease', 'test.pubtator');

/** The generated random-weight model; `npm test` builds it first (scripts/setup.mjs). */
export async function testModelDir(): Promise<string> {
  const script: string = projectPath('scripts', 'build-test-model.mjs');
  const { buildTestModel } = await import(script);
  return (await buildTestModel()).dir;
}

/** The 100 NCBI-disease test abstracts, or the bundled 5 when ../shared/data is absent. */
export const NCBI_SAMPLE_OR_TEST = existsSync(NCBI_TEST) ? NCBI_TEST : projectPath('test', 'fixtures', 'ncbi-disease-sample.pubtator');

/** Why a test that needs ../shared/data is skipped, or false when the data is there. */
export const withoutSharedData = existsSync(NCBI_TEST) ? false : `no corpus at ${NCBI_TEST}`;
