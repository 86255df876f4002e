// The ModelBackend of `remote:URL[,URL…]`: batches go whole to `bioner-stream serve`'s native
// endpoint, which runs the multi-turn conversations next to the model, KV cache and all.
import type { PromptTemplate } from '../../domain/prompt-template.js';
import type { Answer, Query } from '../../domain/types.js';
import type { ModelBackend } from '../model-backend.js';
import { ANSWERS_PATH, type AnswerRequest } from './answer-protocol.js';
import type { EndpointPool } from './endpoint-pool.js';
import { connectServers, malformedReply, type RemoteOptions } from './server-connection.js';

export class RemoteBackend implements ModelBackend {
  private constructor(
    /** The model the servers reported at start-up. */
    readonly modelId: string,
    private readonly template: PromptTemplate,
    private readonly pool: EndpointPool,
  ) {}

  static async connect(spec: string, template: PromptTemplate, options: Partial<RemoteOptions> = {}): Promise<RemoteBackend> {
    const { pool, model } = await connectServers(spec, 'remote', options);
    return new RemoteBackend(model, template, pool);
  }

  async answer(queries: Query[]): Promise<Answer[][]> {
    const request: AnswerRequest = {
      template: this.template,
      queries: queries.map((q) => ({ text: q.sentence.text, types: q.types })),
    };
    return answersOf(await this.pool.post(ANSWERS_PATH, request), queries);
  }

  async close(): Promise<void> {
    this.pool.close();
  }
}

/** The reply's answers, if there is one Answer per asked type of each query, in order. */
function answersOf(reply: unknown, queries: Query[]): Answer[][] {
  const answers = (reply as { answers?: unknown } | null)?.answers;
  const malformed = (problem: string) => malformedReply(`POST ${ANSWERS_PATH}`, problem, reply);
  if (!Array.isArray(answers) || answers.length !== queries.length) {
    throw malformed(`answers should hold ${queries.length} lists, one per query`);
  }
  return queries.map(({ types }, q) => {
    const forQuery: unknown = answers[q];
    if (!Array.isArray(forQuery) || forQuery.length !== types.length) {
      throw malformed(`answers[${q}] should hold ${types.length} answers, one per type`);
    }
    return types.map((type, t) => {
      if (!isAnswer(forQuery[t], type)) throw malformed(`answers[${q}][${t}] is not an answer for "${type}"`);
      return forQuery[t];
    });
  });
}

function isAnswer(value: unknown, type: string): value is Answer {
  const { type: answered, raw, confidences } = (value ?? {}) as Partial<Answer>;
  const numeric = confidences === undefined ||
    (typeof confidences === 'object' && confidences !== null && Object.values(confidences).every((c) => typeof c === 'number'));
  return answered === type && typeof raw === 'string' && numeric;
}
