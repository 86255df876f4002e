// A model's raw answers saved to a file (`annotate --save-answers`) and answered again from it
// (`replay:FILE`): the stages after inference (grounding, abbreviations, concepts) can then be
// changed and measured on the same answers without running the model again.
// The file is JSON lines: a header `{"model_id": ...}`, then one line per (sentence, type) turn.
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
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

/** Answers as `inner` does, appending every answer to `file` (truncated first). */
export class RecordingBackend implements ModelBackend {
  readonly modelId: string;
  readonly stats?: ModelBackend['stats'];

  constructor(
    private readonly inner: ModelBackend,
    private readonly file: string,
  ) {
    this.modelId = inner.modelId;
    if (inner.stats) this.stats = () => inner.stats!();
    writeFileSync(file, `${JSON.stringify({ model_id: inner.modelId })}\n`);
  }

  async answer(queries: Query[]): Promise<Answer[][]> {
    const answers = await this.inner.answer(queries);
    const lines = queries.flatMap(({ sentence }, q) => answers[q]!.map((answer) =>
      JSON.stringify({ doc_id: sentence.docId, start: sentence.start, end: sentence.end, text: sentence.text, answer } satisfies AnswerLine)));
    // Synchronous and per batch: an interrupted run keeps every answer it got.
    if (lines.length > 0) appendFileSync(this.file, `${lines.join('\n')}\n`);
    return answers;
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** Answers from a file RecordingBackend wrote; a query it has no answer for is an error. */
export class ReplayBackend implements ModelBackend {
  readonly modelId: string;
  private readonly answers = new Map<string, AnswerLine>();

  constructor(private readonly file: string) {
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
    // Replayed records carry the model that gave the answers.
    this.modelId = header.model_id;
    for (let i = 1; i < lines.length; i++) {
      if (lines[i]!.trim() === '') continue;
      const line = parse(i) as AnswerLine;
      if (typeof line?.doc_id !== 'string' || typeof line.text !== 'string' || typeof line.answer?.raw !== 'string') {
        throw new FileFormatError(file, i + 1, 'expected {"doc_id", "start", "end", "text", "answer": {"type", "raw"}}');
      }
      this.answers.set(keyOf({ docId: line.doc_id, start: line.start, end: line.end }, line.answer.type), line);
    }
  }

  async answer(queries: Query[]): Promise<Answer[][]> {
    return queries.map(({ sentence, types }) => types.map((type) => {
      const line = this.answers.get(keyOf(sentence, type));
      if (!line || line.text !== sentence.text) {
        throw new Error(`${this.file} has no ${type} answer for document ${sentence.docId} sentence ${sentence.start}-${sentence.end}` +
          ' (recorded from other documents, types or sentence splitting?)');
      }
      return line.answer;
    }));
  }

  async close(): Promise<void> {}
}
