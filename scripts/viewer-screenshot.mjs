#!/usr/bin/env node
// Retakes docs/viewer.png, the README's picture of the viewer: `bioner-stream serve` on the
// shipped model (npm run model:fetch), a sentence naming a drug, a disease, a gene and a species,
// and the tooltip of one entity. Needs a build, Debian's chromium and the devDependencies.
//
//   node scripts/viewer-screenshot.mjs [--model DIR] [--out docs/viewer.png]
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import puppeteer from 'puppeteer-core';
import { freePort, startCliProcess, stopCliProcess } from '../dist/tools/bench/cli-process.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({
  options: {
    model: { type: 'string', default: `${root}.cache/models/smollm2-135m-bioner` },
    out: { type: 'string', default: `${root}docs/viewer.png` },
  },
});
const TEXT = 'Tamoxifen-induced hepatitis was reported in two women carrying BRCA1 mutations; ' +
  'in mice, the same dose of tamoxifen caused no liver injury.';

const port = await freePort();
const server = await startCliProcess(['serve', '--model', values.model, '--port', String(port),
  '--types', 'chemical,disease,gene,species', '--inference-threads', '1'], port);
const browser = await puppeteer.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1000, height: 640, deviceScaleFactor: 1 });
  await page.goto(`${server.url}/`);
  await page.waitForSelector('#types input');
  await page.$eval('#text', (area, text) => (area.value = text), TEXT);
  await page.click('#annotate');
  await page.waitForFunction(() => /entit/.test(document.getElementById('status').textContent), { timeout: 120_000 });
  // The first entity's tooltip: its concept and confidence.
  if (await page.$('mark.entity')) await page.hover('mark.entity');
  await page.screenshot({ path: values.out, fullPage: true });
  console.log(`${values.out}: ${await page.$eval('#status', (e) => e.textContent)}`);
} finally {
  await browser.close();
  await stopCliProcess(server);
}
