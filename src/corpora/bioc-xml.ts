// BioC XML files (BioC.dtd): read into a Corpus, written from annotated documents.
import type { AnnotatedDocument, Corpus } from '../domain/types.js';
import { biocFromAnnotated, corpusFromBioc, type BiocAnnotation, type BiocDocument, type BiocPassage } from './bioc.js';
import { CorpusFormatError } from './common.js';
import { escapeXml, parseXml, type XmlElement } from './xml.js';

export function parseBiocXml(content: string, file = 'bioc.xml'): Corpus {
  const root = parseXml(content, file);
  if (root.name !== 'collection') throw new CorpusFormatError(file, root.line, `expected a BioC <collection>, got <${root.name}>`);
  return corpusFromBioc(childrenNamed(root, 'document').map((d) => documentOf(d, file)), file);
}

function documentOf(element: XmlElement, file: string): BiocDocument {
  return {
    id: childText(element, 'id', file),
    line: element.line,
    passages: childrenNamed(element, 'passage').map((p) => passageOf(p, file)),
    relations: childrenNamed(element, 'relation').map((r) => ({ infons: infonsOf(r) })),
  };
}

function passageOf(element: XmlElement, file: string): BiocPassage {
  return {
    offset: integer(childText(element, 'offset', file), element, file),
    line: element.line,
    infons: infonsOf(element),
    text: childrenNamed(element, 'text')[0]?.text ?? '',
    annotations: childrenNamed(element, 'annotation').map((a) => annotationOf(a, file)),
  };
}

function annotationOf(element: XmlElement, file: string): BiocAnnotation {
  return {
    id: element.attributes.id ?? '',
    line: element.line,
    infons: infonsOf(element),
    text: childrenNamed(element, 'text')[0]?.text ?? '',
    locations: childrenNamed(element, 'location').map((l) => ({
      offset: integer(l.attributes.offset, l, file),
      length: integer(l.attributes.length, l, file),
    })),
  };
}

const childrenNamed = (element: XmlElement, name: string) => element.children.filter((c) => c.name === name);
const infonsOf = (element: XmlElement): Record<string, string> =>
  Object.fromEntries(childrenNamed(element, 'infon').map((i) => [i.attributes.key ?? '', i.text]));

function childText(element: XmlElement, name: string, file: string): string {
  const child = childrenNamed(element, name)[0];
  if (!child) throw new CorpusFormatError(file, element.line, `<${element.name}> has no <${name}>`);
  return child.text.trim();
}

function integer(value: string | undefined, element: XmlElement, file: string): number {
  if (value === undefined || !/^\s*-?\d+\s*$/.test(value))
    throw new CorpusFormatError(file, element.line, `<${element.name}>: expected an integer offset, got ${JSON.stringify(value)}`);
  return Number(value);
}

/** Writes a collection a document at a time, so annotate can stream it. */
export class BiocXmlWriter {
  constructor(private readonly label: (type: string) => string) {}

  start(): string {
    return `<?xml version='1.0' encoding='UTF-8'?><!DOCTYPE collection SYSTEM 'BioC.dtd'>\n<collection>\n<source>bioner-stream</source>\n<date>${today()}</date>\n<key>bioner-stream.key</key>\n`;
  }

  document(annotated: AnnotatedDocument): string {
    const doc = biocFromAnnotated(annotated, this.label);
    const infons = (infons: Record<string, string>) =>
      Object.entries(infons).map(([key, value]) => `<infon key="${escapeXml(key)}">${escapeXml(value)}</infon>\n`).join('');
    const passages = doc.passages.map((p) => {
      const annotations = p.annotations.map((a) => {
        const locations = a.locations.map((l) => `<location offset="${l.offset}" length="${l.length}"/>\n`).join('');
        return `<annotation id="${escapeXml(a.id)}">\n${infons(a.infons)}${locations}<text>${escapeXml(a.text)}</text>\n</annotation>\n`;
      });
      return `<passage>\n${infons(p.infons)}<offset>${p.offset}</offset>\n<text>${escapeXml(p.text)}</text>\n${annotations.join('')}</passage>\n`;
    });
    return `<document>\n<id>${escapeXml(doc.id)}</id>\n${passages.join('')}</document>\n`;
  }

  end(): string {
    return '</collection>\n';
  }
}

const today = () => new Date().toISOString().slice(0, 10).replace(/-/g, '');
