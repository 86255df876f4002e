// The viewer page in a real headless browser (Debian's chromium through puppeteer-core) against
// a real server on the test model: the marks it draws are the records /v1/entities returns for
// the same text, by text and type, and the legend counts them.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, test } from 'node:test';
import puppeteer, { type Browser } from 'puppeteer-core';
import { defaultPipelineSettings } from '../src/cli/common-options.js';
import type { EntityRecord } from '../src/domain/types.js';
import { ALL_FEATURES } from '../src/inference/onnx/generation-scheduler.js';
import { ENTITIES_PATH, InferenceServer } from '../src/serving/inference-server.js';
import { testModelDir } from './support/paths.js';

const CHROMIUM = '/usr/bin/chromium';
const NO_CHROMIUM = `no browser at ${CHROMIUM}: apt-get install -y chromium (.ci/run does)`;
const TYPES = ['disease', 'chemical'];
// The test model's answers are arbitrary; constrained, they are spans of the sentence, and these give records.
const TEXT = 'Mutations in BRCA1 cause hereditary breast cancer. Aspirin reduced the risk of colorectal adenoma.';

let server: InferenceServer;
let browser: Browser;
const url = (path: string) => `http://127.0.0.1:${server.port}${path}`;

// In CI a missing browser is a failure, not a skip: the suite must not pass without its browser test.
const skip = !existsSync(CHROMIUM) && !process.env.CI ? `${NO_CHROMIUM}; skipped outside CI` : false;

before(async () => {
  if (skip) return;
  assert.ok(existsSync(CHROMIUM), NO_CHROMIUM);
  const modelDir = await testModelDir();
  const { model: _model, engine: _engine, queryBatches: _batches, ...pipeline } = defaultPipelineSettings(modelDir, TYPES);
  server = await InferenceServer.start({
    model: modelDir, host: '127.0.0.1', port: 0,
    batchSize: 8, batchWaitMs: 5, maxQueued: 64, maxQueuedPerClient: 32, queueTimeoutMs: 30_000, maxBodyBytes: 64 * 1024,
    engine: { executionProvider: 'cpu', threads: 1, features: ALL_FEATURES, constrained: true, maxNewTokens: 12 },
    maxCompletionTokens: 32, pipeline, maxTextsPerRequest: 4,
  });
  browser = await puppeteer.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});

after(async () => {
  await browser?.close();
  await server?.drain(5000);
});

test('the viewer highlights the records /v1/entities gives, by text and type, with counts and hover details', { skip }, async () => {
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(String(error)));
  page.on('console', (message) => message.type() === 'error' && problems.push(message.text()));
  await page.goto(url('/'));
  await page.waitForSelector('#types input');
  assert.deepEqual(await page.$$eval('#types input:checked', (inputs) => inputs.map((i) => (i as HTMLInputElement).value)), TYPES,
    "the server's default types are picked");
  await page.$eval('#text', (area, text) => ((area as HTMLTextAreaElement).value = text), TEXT);
  await page.click('#annotate');
  await page.waitForFunction(() => /entit/.test(document.getElementById('status')!.textContent ?? ''));

  const reply = (await (await fetch(url(ENTITIES_PATH), {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ texts: [TEXT], types: TYPES }),
  })).json()) as { documents: { entities: EntityRecord[] }[] };
  const records = reply.documents[0]!.entities;
  assert.ok(records.length > 0, 'the text gives records to show');

  // A record crossing another's end is drawn as two marks: its text is theirs together.
  const drawn = await page.$$eval('mark.entity', (marks) => {
    const byRecord = new Map<string, { text: string; type: string }>();
    for (const mark of marks as HTMLElement[]) {
      const seen = byRecord.get(mark.dataset.record!) ?? { text: '', type: mark.dataset.type! };
      byRecord.set(mark.dataset.record!, { ...seen, text: seen.text + mark.textContent });
    }
    return [...byRecord.values()];
  });
  const key = (r: { text: string; type: string }) => `${r.type}\t${r.text}`;
  assert.deepEqual(drawn.map(key).sort(), records.map(key).sort());
  assert.equal(await page.$eval('#annotated', (element) => element.textContent), TEXT, 'the text itself is unchanged');

  const counts = await page.$$eval('#legend li', (items) => items.map((item) => [(item as HTMLElement).dataset.type, item.querySelector('.count')!.textContent]));
  assert.deepEqual(counts, TYPES.map((type) => [type, String(records.filter((r) => r.type === type).length)]));

  await page.hover('mark.entity');
  const first = records[Number(await page.$eval('mark.entity', (mark) => (mark as HTMLElement).dataset.record))]!;
  const tooltip = await page.$eval('#tooltip', (element) => ({ hidden: (element as HTMLElement).hidden, text: element.textContent ?? '' }));
  assert.equal(tooltip.hidden, false);
  assert.ok(tooltip.text.includes(first.confidence!.toFixed(2)), tooltip.text);
  assert.ok(tooltip.text.includes(first.concept_id ?? 'none'), tooltip.text);
  assert.deepEqual(problems, [], 'no script errors or refused loads');
});
