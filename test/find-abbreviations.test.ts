import assert from 'node:assert/strict';
import { test } from 'node:test';
import { definitionsIn, findAbbreviations } from '../src/stages/find-abbreviations.js';

/** [short form, long form] pairs found in `text`, each checked against its offsets. */
function pairs(text: string): [string, string][] {
  return definitionsIn(text).map(({ shortForm, longForm }) => {
    assert.equal(text.slice(shortForm.start, shortForm.end), shortForm.text);
    assert.equal(text.slice(longForm.start, longForm.end), longForm.text);
    return [shortForm.text, longForm.text];
  });
}

// Sentences from the NCBI-disease and BC5CDR training abstracts.
test('long form (short form), the common order', () => {
  assert.deepEqual(pairs('Duchenne muscular dystrophy (DMD) is caused by mutations in the dystrophin gene.'), [
    ['DMD', 'Duchenne muscular dystrophy'],
  ]);
  assert.deepEqual(
    pairs('Most colon cancers arise from mutations in the gene encoding adenomatous polyposis coli (APC), a protein.'),
    [['APC', 'adenomatous polyposis coli']],
  );
  assert.deepEqual(pairs('chest pain after 5-fluorouracil (5-FU) administration'), [['5-FU', '5-fluorouracil']]);
  assert.deepEqual(pairs('nephrosis induced by puromycin aminonucleoside, (PAN) in rats'), [['PAN', 'puromycin aminonucleoside']]);
});

test('what follows a ";" or ", " inside the parentheses is not part of the short form', () => {
  assert.deepEqual(pairs('Alkaptonuria (AKU; McKusick no. 203500) is a rare disorder.'), [['AKU', 'Alkaptonuria']]);
  assert.deepEqual(pairs('Glucose-6-phosphate dehydrogenase (G6PD; EC 1. 1. 1. 49) deficiency'), [
    ['G6PD', 'Glucose-6-phosphate dehydrogenase'],
  ]);
});

test('nested parentheses: the outer group defines, the inner ones do not', () => {
  // Schwartz–Hearst's long form runs up to the parenthesis: what "UPD (14)" abbreviates.
  assert.deepEqual(
    pairs('We report on a boy with a maternal uniparental disomy for chromosome 14 (UPD (14)).'),
    [['UPD', 'uniparental disomy for chromosome 14']],
  );
  assert.deepEqual(pairs('Proteolipid protein (PLP; M (r) 30, 000) is a highly conserved major protein.'), [
    ['PLP', 'Proteolipid protein'],
  ]);
  // A one-letter symbol with a nested subscript is no abbreviation.
  assert.deepEqual(pairs('a maximum rate of muscle mitochondrial ATP production (V (max)) below the normal range'), []);
});

test('statistics and counts in parentheses are not abbreviations', () => {
  assert.deepEqual(pairs('symptomatic renal cell carcinoma (n = 26) and cerebellar haemangioblastoma (n = 68)'), []);
  assert.deepEqual(pairs('the incidence of myalgia was higher in Group PS than in Group LS and PR (p < 0.05).'), []);
  assert.deepEqual(pairs('Lithium was associated with a significantly higher incidence (p < 0.05) of tremor.'), []);
  assert.deepEqual(pairs('in 12 patients (n=12) the dose was halved'), []);
});

test('short form (long form), the reverse order', () => {
  assert.deepEqual(pairs('Patients with WD (Wilson disease) accumulate copper.'), [['WD', 'Wilson disease']]);
  // From BC5CDR train: a lower-case word, and a parenthesis holding another group, define nothing.
  assert.deepEqual(pairs('the GABA(B) antagonist alpha (3-aminopropyl-diethoxy-methyl-phosphinic acid, the H3 agonist R-'), []);
  assert.deepEqual(
    pairs('doxorubicin was injected intravenously into gene-targeted mice lacking SGK1 (sgk1(-/-)) and their wild-type littermates (sgk1(+/+))'),
    [],
  );
});

test('characters that do not fit give no definition', () => {
  assert.deepEqual(pairs('The patients (controls) were matched.'), []);
  assert.deepEqual(pairs('treated with lithium (Li) salts'), [['Li', 'lithium']]);
  assert.deepEqual(pairs('treated with lithium (XY) salts'), []);
});

test('document offsets come from the sentence start', () => {
  const text = 'Intro. Wilson disease (WD) is rare.';
  const [definition] = findAbbreviations([{ docId: 'd', index: 1, start: 7, end: text.length, text: text.slice(7) }]);
  assert.deepEqual(definition, {
    shortForm: { start: 23, end: 25, text: 'WD' },
    longForm: { start: 7, end: 21, text: 'Wilson disease' },
  });
  assert.equal(text.slice(23, 25), 'WD');
});
