// Sentence splitter vs Intl.Segmenter on NCBI-disease (train+devel+test): gold mentions cut by
// a sentence boundary, and sentence counts/lengths. Build first: `npx tsc -p tsconfig.json`.
// BC5CDR and JNLPBA are skipped: their documents are single sentences already.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readCorpus } from '../dist/src/corpora/index.js';
import { estimateTokens, splitSentences } from '../dist/src/stages/split-sentences.js';

const dir = fileURLToPath(new URL('../../shared/data/ncbi-disease/', import.meta.url));
if (!existsSync(dir)) {
  console.error(`NCBI-disease not found at ${dir}`);
  process.exit(1);
}

const documents = [];
const mentions = [];
for (const part of ['train', 'devel', 'test']) {
  const corpus = await readCorpus(`${dir}${part}.pubtator`, 'pubtator');
  documents.push(...corpus.documents);
  mentions.push(...corpus.mentions);
  for (const warning of corpus.warnings) console.log(`warning: ${warning}`);
}

const segmenter = new Intl.Segmenter('en', { granularity: 'sentence' });
/** Intl.Segmenter sentences as trimmed [start, end) spans. */
function intlSentences(doc) {
  return [...segmenter.segment(doc.text)]
    .map(({ segment, index }) => {
      const start = index + (segment.length - segment.trimStart().length);
      return { start, end: index + segment.trimEnd().length };
    })
    .filter((s) => s.end > s.start)
    .map((s) => ({ ...s, text: doc.text.slice(s.start, s.end) }));
}

function measure(name, split) {
  const byDoc = new Map(documents.map((doc) => [doc.id, split(doc)]));
  const crossing = mentions.filter(
    (m) => !byDoc.get(m.docId).some((s) => s.start <= m.start && m.end <= s.end),
  );
  const sentences = [...byDoc.values()].flat();
  const chars = sentences.map((s) => s.end - s.start);
  const tokens = sentences.map((s) => estimateTokens(s.text));
  const mean = (xs) => (xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(1);
  console.log(
    `${name.padEnd(16)} crossing ${crossing.length}/${mentions.length} mentions; ` +
      `${sentences.length} sentences in ${documents.length} docs; ` +
      `length mean ${mean(chars)} / max ${Math.max(...chars)} chars, ` +
      `mean ${mean(tokens)} / max ${Math.max(...tokens)} est. tokens`,
  );
  for (const m of crossing.slice(0, 5)) console.log(`  ${m.docId} ${m.start}-${m.end} ${JSON.stringify(m.text)}`);
  return crossing.length;
}

const ours = measure('splitSentences', (doc) => splitSentences(doc));
const intl = measure('Intl.Segmenter', intlSentences);
// Stress the length bound: cuts made only for length are where entities get split.
measure('  maxTokens 64', (doc) => splitSentences(doc, { maxTokens: 64 }));
console.log(`crossings, Intl.Segmenter : splitSentences = ${intl} : ${ours}` + (ours > 0 ? ` (${(intl / ours).toFixed(1)}x)` : ''));
