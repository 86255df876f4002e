// A model's raw answers saved to a file (`annotate --save-answers`) and answered again from it
// (`replay:FILE`): the stages after inference (grounding, abbreviations, concepts) can then be
// changed and measured on the same answers without running the model again. An interrupted run
// continues from its file (`--resume`), asking the model only for what the file lacks.
// The file is JSON lines: a header `{"model_id": ...}`, then one line per (sentence, type) turn.
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { FileFormatError } from '../domain/file-format-error.js';
import type { Answer, Query, Sentence } from '../domain/types.js';
import type { ModelBackend } from './model-backend.js';

interface AnswerLine {
  doc_id: string;
  start: number;
  end: number;
  /** The sentence, so that a replay on differently split text fails instead of misplacing answers. */
  text: string;
  answer: Answer;
}

const keyOf = (sentence: Pick<Sentence, 'docId' | 'start' | 'end'>, type: string) =>
  JSON.stringify([sentence.docId, sentence.start, sentence.end, type]);

/**
 * Answers as `inner` does, appending every answer to `file`. The file is started afresh, or with
 * `resume` kept: a query it already answers (an interrupted run's) is not asked again.
 */
export class RecordingBackend implements ModelBackend {
  readonly modelId: string;
  readonly stats?: ModelBackend['stats'];
  private readonly kept: AnswerLog;

  constructor(
    private readonly inner: ModelBackend,
    private readonly file: string,
    resume = false,
  ) {
    this.modelId = inner.modelId;
    if (inner.stats) this.stats = () => inner.stats!();
    if (resume && existsSync(file)) {
      this.kept = readAnswerLog(file);
      if (this.kept.modelId !== inner.modelId) {
        throw new FileFormatError(file, 1, `answers of ${this.kept.modelId}, not of ${inner.modelId}; resume with the model that gave them`);
      }
    } else {
      this.kept = new AnswerLog(file, inner.modelId);
      writeFileSync(file, `${JSON.stringify({ model_id: inner.modelId })}\n`);
    }
  }

  async answer(queries: Query[]): Promise<Answer[][]> {
    const kept = queries.map(({ sentence, types }) => types.every((type) => this.kept.has(sentence, type))
      ? types.map((type) => this.kept.get(sentence, type)) : undefined);
    const asked = queries.filter((_, q) => kept[q] === undefined);
    const answers = asked.length > 0 ? await this.inner.answer(asked) : [];
    const lines = asked.flatMap(({ sentence }, q) => answers[q]!.map((answer) =>
      JSON.stringify({ doc_id: sentence.docId, start: sentence.start, end: sentence.end, text: sentence.text, answer } satisfies AnswerLine)));
    // Synchronous and per batch: an interrupted run keeps every answer it got.
    if (lines.length > 0) appendFileSync(this.file, `${lines.join('\n')}\n`);
    let next = 0;
    return kept.map((answer) => answer ?? answers[next++]!);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** Answers from a file RecordingBackend wrote; a query it has no answer for is an error. */
export class ReplayBackend implements ModelBackend {
  readonly modelId: string;
  private readonly log: AnswerLog;

  constructor(file: string) {
    this.log = readAnswerLog(file);
    // Replayed records carry the model that gave the answers.
    this.modelId = this.log.modelId;
  }

  async answer(queries: Query[]): Promise<Answer[][]> {
    return queries.map(({ sentence, types }) => types.map((type) => this.log.get(sentence, type)));
  }

  async close(): Promise<void> {}
}

/** A file's answers by (sentence, type). */
class AnswerLog {
  readonly lines = new Map<string, AnswerLine>();

  constructor(
    readonly file: string,
    readonly modelId: string,
  ) {}

  has(sentence: Sentence, type: string): boolean {
    return this.lines.has(keyOf(sentence, type));
  }

  /** The answer to `type` on `sentence`; an error when there is none, or the file's sentence has other text. */
  get(sentence: Sentence, type: string): Answer {
    const line = this.lines.get(keyOf(sentence, type));
    if (!line || line.text !== sentence.text) {
      throw new Error(`${this.file} has no ${type} answer for document ${sentence.docId} sentence ${sentence.start}-${sentence.end}` +
        ' (recorded from other documents, types or sentence splitting?)');
    }
    return line.answer;
  }
}

function readAnswerLog(file: string): AnswerLog {
  const lines = readFileSync(file, 'utf8').split('\n');
  const parse = (i: number) => {
    try {
      return JSON.parse(lines[i]!) as unknown;
    } catch (error) {
      throw new FileFormatError(file, i + 1, `not JSON: ${(error as Error).message}`);
    }
  };
  const header = parse(0) as { model_id?: unknown };
  if (typeof header?.model_id !== 'string') throw new FileFormatError(file, 1, 'expected the header {"model_id": ...}');
  const log = new AnswerLog(file, header.model_id);
  for (let i = 1; i < lines.length; i++) {
    if (lines[i]!.trim() === '') continue;
    const line = parse(i) as AnswerLine;
    if (typeof line?.doc_id !== 'string' || typeof line.text !== 'string' || typeof line.answer?.raw !== 'string') {
      throw new FileFormatError(file, i + 1, 'expected {"doc_id", "start", "end", "text", "answer": {"type", "raw"}}');
    }
    log.lines.set(keyOf({ docId: line.doc_id, start: line.start, end: line.end }, line.answer.type), line);
  }
  return log;
}
