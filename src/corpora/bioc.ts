// BioC (Comeau et al. 2013), the collection → document → passage → annotation model that XML and
// JSON BioC files share, and how it maps to and from this project's documents. Passage and
// annotation offsets are document offsets; a document's text is its passages placed at their
// offsets (BC5CDR: title at 0, abstract after one space, as PubTator's `title + " " + abstract`).
import { parseConceptIds } from '../domain/concept-ids.js';
import type { AnnotatedDocument, Corpus, EntityRecord } from '../domain/types.js';
import { CorpusFormatError, UniqueIds } from './common.js';

export interface BiocDocument {
  id: string;
  line: number;
  passages: BiocPassage[];
  relations: BiocRelation[];
}

export interface BiocPassage {
  offset: number;
  line: number;
  infons: Record<string, string>;
  text: string;
  annotations: BiocAnnotation[];
}

export interface BiocAnnotation {
  id: string;
  line: number;
  infons: Record<string, string>;
  text: string;
  locations: { offset: number; length: number }[];
}

export interface BiocRelation {
  infons: Record<string, string>;
}

/** Infon keys that carry concept ids: BioC's and PubTator3's `identifier`, BC5CDR's `MESH`. */
const ID_INFONS = ['identifier', 'MESH', 'MeSH', 'mesh'];

/** Documents, gold mentions and relations of a BioC collection; bad offsets throw, naming the line. */
export function corpusFromBioc(documents: BiocDocument[], file: string): Corpus {
  const corpus: Corpus = { documents: [], mentions: [], relations: [], warnings: [] };
  const ids = new UniqueIds();
  for (const doc of documents) {
    const id = ids.claim(doc.id);
    if (id !== doc.id) corpus.warnings.push(`${file}:${doc.line}: document id ${doc.id} repeated; kept as ${id}`);
    let text = '';
    let title: string | undefined;
    for (const passage of doc.passages) {
      if (passage.offset < text.length)
        throw new CorpusFormatError(file, passage.line, `passage offset ${passage.offset} overlaps the text before it (which ends at ${text.length})`);
      text = text.padEnd(passage.offset, ' ') + passage.text;
      const kind = passage.infons.type?.toLowerCase();
      if (title === undefined && passage.offset === 0 && (kind === 'title' || kind === 'front')) title = passage.text;
    }
    corpus.documents.push({ id, source: 'pubmed', ...(title === undefined ? {} : { title }), text });
    for (const annotation of doc.passages.flatMap((p) => p.annotations)) {
      const mention = mentionOf(annotation, text, file);
      if (typeof mention === 'string') corpus.warnings.push(mention);
      else corpus.mentions.push({ docId: id, ...mention });
    }
    for (const relation of doc.relations) {
      const { relation: type, type: altType, ...rest } = relation.infons;
      corpus.relations.push({ docId: id, type: type ?? altType ?? 'relation', ids: Object.values(rest) });
    }
  }
  return corpus;
}

/** The mention an annotation gives, or a warning when its text is not what its offsets hold. */
function mentionOf(annotation: BiocAnnotation, text: string, file: string) {
  if (annotation.locations.length === 0) throw new CorpusFormatError(file, annotation.line, `annotation ${annotation.id} has no location`);
  for (const { offset, length } of annotation.locations) {
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length <= 0 || offset + length > text.length)
      throw new CorpusFormatError(
        file,
        annotation.line,
        `annotation ${annotation.id}: location ${offset}+${length} lies outside the document text (${text.length} characters)`,
      );
  }
  // A discontinuous annotation (several locations) becomes the span that covers them all.
  const start = Math.min(...annotation.locations.map((l) => l.offset));
  const end = Math.max(...annotation.locations.map((l) => l.offset + l.length));
  const found = text.slice(start, end);
  if (annotation.locations.length === 1 && found !== annotation.text)
    return `${file}:${annotation.line}: annotation ${annotation.id}: offsets ${start}-${end} give ${JSON.stringify(found)}, not ${JSON.stringify(annotation.text)}; annotation skipped`;
  const idInfon = ID_INFONS.find((key) => annotation.infons[key] !== undefined);
  let conceptIds: string[];
  try {
    conceptIds = parseConceptIds(idInfon === undefined ? undefined : annotation.infons[idInfon]);
  } catch (error) {
    throw new CorpusFormatError(file, annotation.line, (error as Error).message);
  }
  return { start, end, text: found, type: annotation.infons.type ?? 'entity', ...(conceptIds.length ? { conceptIds } : {}) };
}

/**
 * An annotated document as BioC: a title and an abstract passage when the text is
 * `title + " " + abstract`, else one passage; each entity in the passage holding it.
 */
export function biocFromAnnotated(annotated: AnnotatedDocument, label: (type: string) => string): BiocDocument {
  const { document, entities } = annotated;
  const { title } = document;
  const parts: { kind: string; offset: number; text: string }[] =
    title !== undefined && document.text.startsWith(`${title} `) && document.text.length > title.length + 1
      ? [
          { kind: 'title', offset: 0, text: title },
          { kind: 'abstract', offset: title.length + 1, text: document.text.slice(title.length + 1) },
        ]
      : [{ kind: title !== undefined && document.text === title ? 'title' : 'text', offset: 0, text: document.text }];
  let next = 0;
  const passages = parts.map(
    (part, p): BiocPassage => ({
      offset: part.offset,
      line: 0,
      infons: { type: part.kind },
      text: part.text,
      annotations: entities
        .filter((e) => e.start >= part.offset && (p === parts.length - 1 || e.start < parts[p + 1]!.offset))
        .map((e) => annotationOf(e, String(next++), label)),
    }),
  );
  return { id: document.id, line: 0, passages, relations: [] };
}

function annotationOf(entity: EntityRecord, id: string, label: (type: string) => string): BiocAnnotation {
  const infons: Record<string, string> = { type: label(entity.type) };
  if (entity.concept_ids.length > 0) {
    infons.identifier = entity.concept_ids.join('|');
    // BC5CDR's own key, which its evaluator reads: bare MeSH ids.
    if (entity.concept_ids.every((c) => c.startsWith('MESH:'))) infons.MESH = entity.concept_ids.map((c) => c.slice(5)).join('|');
  }
  if (entity.concept_name !== null) infons.concept_name = entity.concept_name;
  if (entity.long_form !== null) infons.long_form = entity.long_form;
  return { id, line: 0, infons, text: entity.text, locations: [{ offset: entity.start, length: entity.end - entity.start }] };
}
