// JSON.parse that remembers the line each object starts on, so a reader can name the line of a
// bad value (JSON.parse knows no positions). Strict JSON; syntax errors name their line too.
import { CorpusFormatError } from './common.js';

export interface LocatedJson {
  value: unknown;
  /** 1-based line of an object or array parsed from the text. */
  lineOf(node: object): number | undefined;
}

export class JsonSyntaxError extends CorpusFormatError {}

export function parseLocatedJson(content: string, file: string): LocatedJson {
  const lines = new WeakMap<object, number>();
  let i = 0;
  let line = 1;
  const fail = (detail: string): never => {
    throw new JsonSyntaxError(file, line, detail);
  };
  const space = () => {
    for (; i < content.length; i++) {
      const ch = content[i];
      if (ch === '\n') line++;
      else if (ch !== ' ' && ch !== '\t' && ch !== '\r' && ch !== '\uFEFF') break;
    }
  };
  const expect = (ch: string) => {
    space();
    if (content[i] !== ch) fail(`expected "${ch}", got ${content[i] === undefined ? 'the end' : JSON.stringify(content[i])}`);
    i++;
  };
  const string = (): string => {
    if (content[i] !== '"') fail(`expected a string, got ${content[i] === undefined ? 'the end' : JSON.stringify(content[i])}`);
    const match = /^"(?:[^"\\\n]|\\.)*"/.exec(content.slice(i, i + 1_000_000));
    if (!match) fail('unterminated or malformed string');
    i += match![0].length;
    return JSON.parse(match![0]) as string;
  };
  const value = (): unknown => {
    space();
    const ch = content[i];
    if (ch === '{') {
      const object: Record<string, unknown> = {};
      lines.set(object, line);
      i++;
      space();
      if (content[i] === '}') return i++, object;
      for (;;) {
        space();
        const key = string();
        expect(':');
        object[key] = value();
        space();
        if (content[i] === ',') i++;
        else return expect('}'), object;
      }
    }
    if (ch === '[') {
      const array: unknown[] = [];
      lines.set(array, line);
      i++;
      space();
      if (content[i] === ']') return i++, array;
      for (;;) {
        array.push(value());
        space();
        if (content[i] === ',') i++;
        else return expect(']'), array;
      }
    }
    if (ch === '"') return string();
    const literal = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(content.slice(i, i + 400));
    if (!literal) fail(`unexpected ${ch === undefined ? 'end of file' : JSON.stringify(ch)}`);
    i += literal![0].length;
    return JSON.parse(literal![0]);
  };
  const parsed = value();
  space();
  if (i < content.length) fail('text after the JSON value');
  return { value: parsed, lineOf: (node) => lines.get(node) };
}
