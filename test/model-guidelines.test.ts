import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { ChatMessage } from '../src/domain/types.js';
import { GUIDELINES_FILE, GuidelinePlan } from '../src/inference/model-guidelines.js';
import { queryBatcher } from '../src/inference/query-batcher.js';
import { OpenAiBackend } from '../src/inference/remote/openai-backend.js';
import { Annotator } from '../src/pipeline/annotator.js';
import { loadPromptTemplate } from '../src/stages/build-prompt.js';
import { EntityTypes } from '../src/stages/entity-types.js';

const CORPORA = {
  'NCBI-disease': ['disease'],
  BC5CDR: ['chemical', 'disease'],
  JNLPBA: ['protein', 'dna', 'rna', 'cell_type', 'cell_line'],
  BC2GM: ['gene'],
};

async function modelDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bioner-guidelines-'));
  await writeFile(join(dir, GUIDELINES_FILE), JSON.stringify(CORPORA));
  return dir;
}

test('types are grouped under the corpus guidelines that fit them best', async () => {
  const plan = GuidelinePlan.forModel(await modelDir());
  assert.deepEqual(plan.groups(['disease']), [{ guidelines: 'NCBI-disease', types: ['disease'] }]);
  assert.deepEqual(plan.groups(['chemical', 'disease']), [{ guidelines: 'BC5CDR', types: ['chemical', 'disease'] }]);
  assert.deepEqual(plan.groups(['chemical']), [{ guidelines: 'BC5CDR', types: ['chemical'] }]);
  assert.deepEqual(plan.groups(['dna', 'protein']), [{ guidelines: 'JNLPBA', types: ['dna', 'protein'] }]);
  assert.deepEqual(plan.groups(['gene', 'chemical', 'disease']), [
    { guidelines: 'BC5CDR', types: ['chemical', 'disease'] },
    { guidelines: 'BC2GM', types: ['gene'] },
  ]);
  assert.deepEqual(plan.groups(['disease', 'gene']), [
    { guidelines: 'NCBI-disease', types: ['disease'] },
    { guidelines: 'BC2GM', types: ['gene'] },
  ], 'a tie goes to the first listed');
  assert.deepEqual(plan.groups(['gene', 'species']), [{ guidelines: 'BC2GM', types: ['gene', 'species'] }],
    'a type no corpus annotates joins the first group');
  assert.deepEqual(plan.groups(['species']), [{ types: ['species'] }], 'no corpus annotates it: the template keeps its own');
  assert.deepEqual(GuidelinePlan.forModel(await modelDir(), 'BC5CDR').groups(['gene', 'disease']),
    [{ guidelines: 'BC5CDR', types: ['gene', 'disease'] }], '--guidelines forces one for all');
  assert.deepEqual(GuidelinePlan.forModel('oracle:gold.pubtator').groups(['disease']), [{ types: ['disease'] }]);
});

/**
 * A chat server scripted like a model that learned genes only under BC2GM: it answers from the
 * conversation's "Follow X guidelines." and the type of its last turn.
 */
async function scriptedServer(t: TestContext): Promise<{ url: string; asked: ChatMessage[][] }> {
  const script: Record<string, Record<string, string[]>> = {
    BC5CDR: { chemical: ['Tamoxifen'], disease: ['breast cancer'] },
    BC2GM: { gene: ['BRCA1'] },
  };
  const asked: ChatMessage[][] = [];
  const server = createServer(async (request, response) => {
    let body = '';
    for await (const chunk of request) body += chunk;
    const messages = (JSON.parse(body) as { messages: ChatMessage[] }).messages;
    asked.push(messages);
    const guidelines = /Follow (\S+) guidelines\./.exec(messages.find((m) => m.role === 'user')!.content)![1]!;
    const type = /Type: (.*)$/.exec(messages.at(-1)!.content)![1]!;
    const content = `Answer: ${JSON.stringify(script[guidelines]?.[type] ?? [])}`;
    response.writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content } }] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, asked };
}

test('a document asking chemical, disease and gene gets its genes from a conversation under the gene guideline', async (t) => {
  const server = await scriptedServer(t);
  const backend = await OpenAiBackend.connect(`openai:${server.url}/v1?model=scripted`, loadPromptTemplate('conv_term'), { maxNewTokens: 16 });
  t.after(() => backend.close());
  const text = 'Tamoxifen protects BRCA1 carriers from breast cancer.';
  const annotate = async (plan: GuidelinePlan) => {
    const annotator = new Annotator({
      batcher: queryBatcher(backend, { batchSize: 8, batchWaitMs: 0, concurrency: 1 }),
      entityTypes: EntityTypes.load(), defaultTypes: ['chemical', 'disease', 'gene'], guidelines: plan,
      provenance: { model_id: 'scripted', prompt_format: 'conv_term', pipeline_version: '0' },
    });
    const { entities } = await annotator.annotate({ id: 'd', source: 'pubmed', text });
    return entities.map((e) => `${e.type}:${e.text}`).sort();
  };

  assert.deepEqual(await annotate(GuidelinePlan.forModel(await modelDir())), ['chemical:Tamoxifen', 'disease:breast cancer', 'gene:BRCA1']);
  const firstTurns = server.asked.filter((m) => m.at(-2)?.role !== 'assistant').map((m) => m.at(-1)!.content);
  assert.deepEqual(firstTurns.map((turn) => [/Follow (\S+) guidelines/.exec(turn)![1], /Type: (.*)$/.exec(turn)![1]]).sort(),
    [['BC2GM', 'gene'], ['BC5CDR', 'chemical']]);
  assert.equal(server.asked.length, 3, 'chemical and disease in one conversation, gene in another');

  assert.deepEqual(await annotate(GuidelinePlan.forModel(await modelDir(), 'BC5CDR')), ['chemical:Tamoxifen', 'disease:breast cancer'],
    'with one guideline forced, genes are asked under BC5CDR, where this model finds none');
});
