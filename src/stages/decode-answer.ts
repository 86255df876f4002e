// Reads the mention strings out of an assistant turn such as `Answer: ["BCL6", "[3H]thymidine"]`.
// Small models emit malformed or truncated JSON, so this is a tolerant scanner, not JSON.parse:
// it keeps every string literal that closed and says what was wrong with the rest.

export type AnswerStatus =
  | 'ok'
  /** No `[` at all: nothing to read. */
  | 'unparseable'
  /** The list never closed, e.g. generation hit the token limit; closed strings are kept. */
  | 'truncated'
  /** Something other than strings and commas inside the list; the strings are kept. */
  | 'malformed';

export interface DecodedAnswer {
  mentions: string[];
  status: AnswerStatus;
}

/** One string literal of the list, where its content lies in the raw answer. */
export interface AnswerLiteral {
  /** The mention as `decodeAnswer` reads it (unescaped, trimmed). */
  value: string;
  start: number;
  end: number;
}

const QUOTES = new Set(['"', "'"]);

export function decodeAnswer(raw: string): DecodedAnswer {
  const { literals, status } = scan(raw);
  return { mentions: unique(literals.map((l) => l.value)), status };
}

/** The list's string literals in order, repeats and blanks included, with their offsets. */
export function answerLiterals(raw: string): AnswerLiteral[] {
  return scan(raw).literals;
}

function scan(raw: string): { literals: AnswerLiteral[]; status: AnswerStatus } {
  const prefix = raw.search(/answer\s*:/i);
  const open = raw.indexOf('[', prefix < 0 ? 0 : prefix);
  if (open < 0) return { literals: [], status: 'unparseable' };

  const literals: AnswerLiteral[] = [];
  let status: AnswerStatus = 'ok';
  let i = open + 1;
  while (i < raw.length) {
    const ch = raw[i]!;
    if (ch === ']') return { literals, status };
    if (QUOTES.has(ch)) {
      const literal = readString(raw, i);
      if (literal === null) return { literals, status: 'truncated' };
      literals.push({ value: literal.value, start: i + 1, end: literal.next - 1 });
      i = literal.next;
    } else {
      if (!/[\s,]/.test(ch)) status = 'malformed';
      i++;
    }
  }
  return { literals, status: 'truncated' };
}

/** Reads a quoted literal starting at `raw[start]`; null when it never closes. */
function readString(raw: string, start: number): { value: string; next: number } | null {
  const quote = raw[start]!;
  let value = '';
  for (let i = start + 1; i < raw.length; i++) {
    const ch = raw[i]!;
    if (ch === quote && closesLiteral(raw, i)) return { value: value.trim(), next: i + 1 };
    if (ch !== '\\') {
      value += ch;
      continue;
    }
    const escaped = raw[++i];
    if (escaped === undefined) return null;
    if (escaped === 'u' && /^[0-9a-fA-F]{4}$/.test(raw.slice(i + 1, i + 5))) {
      value += String.fromCharCode(parseInt(raw.slice(i + 1, i + 5), 16));
      i += 4;
    } else {
      value += ESCAPES[escaped] ?? escaped;
    }
  }
  return null;
}

/** A single quote inside a Python-style literal is often an apostrophe ('Crohn's disease'). */
function closesLiteral(raw: string, at: number): boolean {
  if (raw[at] === '"') return true;
  const after = raw.slice(at + 1).trimStart();
  return after === '' || after[0] === ',' || after[0] === ']';
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', b: '\b', f: '\f' };

function unique(mentions: string[]): string[] {
  return [...new Set(mentions.filter((m) => m.length > 0))];
}
