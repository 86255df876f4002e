// Lexicon files in the formats vocabularies ship in: CTD's vocabulary TSVs (CTD_diseases.tsv,
// CTD_chemicals.tsv, also gzipped), a plain TSV of id, name and synonyms, and OBO ontologies.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { toCurie } from '../../domain/concept-ids.js';
import { FileFormatError } from '../../domain/file-format-error.js';
import type { Concept } from './lexicon.js';

export const LEXICON_FORMATS = ['ctd', 'tsv', 'obo'] as const;
export type LexiconFormat = (typeof LEXICON_FORMATS)[number];

/** A lexicon line that cannot be read. */
export class LexiconFormatError extends FileFormatError {}

/** Reads a lexicon file; the format is taken from its name and header unless given. */
export function readLexiconFile(path: string, format?: LexiconFormat): Concept[] {
  const bytes = readFileSync(path);
  const content = (path.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8');
  return parseLexicon(content, format ?? guessFormat(path, content), path);
}

export function parseLexicon(content: string, format: LexiconFormat, file: string): Concept[] {
  const lines = content.replace(/^\uFEFF/, '').split(/\r?\n/);
  return format === 'obo' ? parseObo(lines, file) : parseTsv(lines, format, file);
}

function guessFormat(path: string, content: string): LexiconFormat {
  const name = basename(path).replace(/\.gz$/, '');
  if (name.endsWith('.obo')) return 'obo';
  if (/^CTD_/i.test(name) || /^# Fields:/m.test(content.slice(0, 2000))) return 'ctd';
  return 'tsv';
}

/** CTD: name, id, ..., synonyms (8th column, `|`-separated). Plain TSV: id, name[, synonyms `|`-separated]. */
const COLUMNS: Record<Exclude<LexiconFormat, 'obo'>, { id: number; name: number; synonyms: number; minimum: number }> = {
  ctd: { name: 0, id: 1, synonyms: 7, minimum: 2 },
  tsv: { id: 0, name: 1, synonyms: 2, minimum: 2 },
};

function parseTsv(lines: string[], format: 'ctd' | 'tsv', file: string): Concept[] {
  const columns = COLUMNS[format];
  const concepts: Concept[] = [];
  lines.forEach((raw, i) => {
    if (raw.trim() === '' || raw.startsWith('#')) return;
    const fields = raw.split('\t');
    const line = i + 1;
    if (fields.length < columns.minimum)
      throw new LexiconFormatError(file, line, `expected ${format === 'ctd' ? 'name<TAB>id<TAB>...' : 'id<TAB>name[<TAB>synonym|synonym...]'}, got ${fields.length} column(s)`);
    const name = fields[columns.name]!.trim();
    if (name === '') throw new LexiconFormatError(file, line, 'empty name');
    concepts.push({
      id: curieAt(fields[columns.id]!.trim(), file, line),
      name,
      synonyms: (fields[columns.synonyms] ?? '').split('|').map((s) => s.trim()).filter(Boolean),
    });
  });
  return concepts;
}

/** OBO [Term] stanzas: `id:`, `name:`, `synonym: "text" SCOPE [...]`; obsolete terms are left out. */
function parseObo(lines: string[], file: string): Concept[] {
  const concepts: Concept[] = [];
  let term: { line: number; id?: string; name?: string; synonyms: string[]; obsolete: boolean } | undefined;
  const finish = () => {
    if (!term) return;
    if (term.id === undefined || term.name === undefined)
      throw new LexiconFormatError(file, term.line, '[Term] without an id: and a name: line');
    if (!term.obsolete) concepts.push({ id: term.id, name: term.name, synonyms: term.synonyms });
    term = undefined;
  };
  lines.forEach((raw, i) => {
    const line = i + 1;
    const text = raw.trim();
    if (text.startsWith('[')) {
      finish();
      if (text === '[Term]') term = { line, synonyms: [], obsolete: false };
      return;
    }
    if (!term || text === '' || text.startsWith('!')) return;
    const colon = text.indexOf(':');
    if (colon <= 0) throw new LexiconFormatError(file, line, `expected "tag: value", got ${JSON.stringify(text)}`);
    const tag = text.slice(0, colon);
    const value = text.slice(colon + 1).replace(/\s!.*$/, '').trim();
    if (tag === 'id') term.id = curieAt(value, file, line);
    else if (tag === 'name') term.name = value;
    else if (tag === 'is_obsolete') term.obsolete = value === 'true';
    else if (tag === 'synonym') {
      const quoted = /^"((?:[^"\\]|\\.)*)"/.exec(value);
      if (!quoted) throw new LexiconFormatError(file, line, 'synonym: must start with a quoted name');
      term.synonyms.push(quoted[1]!.replace(/\\(.)/g, '$1'));
    }
  });
  finish();
  return concepts;
}

function curieAt(id: string, file: string, line: number): string {
  try {
    return toCurie(id);
  } catch (error) {
    throw new LexiconFormatError(file, line, (error as Error).message);
  }
}

/** The plain TSV format: `id<TAB>name<TAB>synonym|synonym...`, one concept a line. */
export function formatLexiconTsv(concepts: readonly Concept[]): string {
  const clean = (name: string) => name.replace(/[\t|\r\n]+/g, ' ');
  const lines = concepts.map((c) => [c.id, clean(c.name), c.synonyms.map(clean).join('|')].join('\t'));
  return `# id\tname\tsynonyms (|-separated)\n${lines.join('\n')}\n`;
}
