// Just enough XML for BioC: elements, attributes, text, character references, CDATA; comments,
// processing instructions and the DOCTYPE are skipped. Every element knows its line, so format
// errors can name it. No dependency: BioC needs no namespaces, DTD validation or entities.
import { CorpusFormatError } from './common.js';

export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  /** The element's own text, its children's left out. */
  text: string;
  /** 1-based line of the start tag. */
  line: number;
}

export class XmlSyntaxError extends CorpusFormatError {}

const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

export function parseXml(content: string, file: string): XmlElement {
  const lineStarts = [0];
  for (let i = content.indexOf('\n'); i >= 0; i = content.indexOf('\n', i + 1)) lineStarts.push(i + 1);
  const lineAt = (index: number): number => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid]! <= index) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
  const fail = (index: number, detail: string): never => {
    throw new XmlSyntaxError(file, lineAt(index), detail);
  };
  const decode = (text: string, at: number): string =>
    text.replace(/&(#x[0-9a-fA-F]+|#\d+|\w+);?/g, (whole, ref: string) => {
      if (ref.startsWith('#x')) return String.fromCodePoint(parseInt(ref.slice(2), 16));
      if (ref.startsWith('#')) return String.fromCodePoint(parseInt(ref.slice(1), 10));
      return NAMED[ref] ?? fail(at, `unknown entity ${whole}`);
    });

  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let i = 0;
  while (i < content.length) {
    const lt = content.indexOf('<', i);
    const textEnd = lt < 0 ? content.length : lt;
    if (textEnd > i) {
      const text = content.slice(i, textEnd);
      if (stack.length > 0) stack.at(-1)!.text += decode(text, i);
      else if (text.trim() !== '') fail(i, 'text outside the root element');
    }
    if (lt < 0) break;
    if (content.startsWith('<!--', lt)) {
      i = skipPast(content, '-->', lt, fail);
    } else if (content.startsWith('<![CDATA[', lt)) {
      const end = content.indexOf(']]>', lt);
      if (end < 0) fail(lt, 'unterminated CDATA section');
      if (stack.length === 0) fail(lt, 'CDATA outside the root element');
      stack.at(-1)!.text += content.slice(lt + 9, end);
      i = end + 3;
    } else if (content.startsWith('<?', lt)) {
      i = skipPast(content, '?>', lt, fail);
    } else if (content.startsWith('<!', lt)) {
      i = skipPast(content, '>', lt, fail);
    } else if (content.startsWith('</', lt)) {
      const end = content.indexOf('>', lt);
      if (end < 0) fail(lt, 'unterminated end tag');
      const name = content.slice(lt + 2, end).trim();
      const open = stack.pop();
      if (!open || open.name !== name) fail(lt, `</${name}> does not close ${open ? `<${open.name}> of line ${open.line}` : 'any element'}`);
      i = end + 1;
    } else {
      const tag = /^<([\w:.-]+)((?:\s+[\w:.-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/.exec(content.slice(lt, lt + 10_000));
      if (!tag) fail(lt, 'malformed start tag');
      const element: XmlElement = { name: tag![1]!, attributes: {}, children: [], text: '', line: lineAt(lt) };
      for (const attr of tag![2]!.matchAll(/([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) {
        element.attributes[attr[1]!] = decode(attr[2] ?? attr[3] ?? '', lt);
      }
      if (stack.length > 0) stack.at(-1)!.children.push(element);
      else if (root) fail(lt, 'a second root element');
      else root = element;
      if (tag![3] !== '/') stack.push(element);
      i = lt + tag![0].length;
    }
  }
  if (stack.length > 0) fail(content.length, `<${stack.at(-1)!.name}> of line ${stack.at(-1)!.line} is never closed`);
  if (!root) fail(0, 'no root element');
  return root!;
}

function skipPast(content: string, terminator: string, from: number, fail: (at: number, detail: string) => never): number {
  const end = content.indexOf(terminator, from);
  if (end < 0) fail(from, `unterminated ${content.slice(from, from + 4)}`);
  return end + terminator.length;
}

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&${({ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": 'apos' } as const)[ch as '&']};`);
}
