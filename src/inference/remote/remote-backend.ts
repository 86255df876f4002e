// The ModelBackend of `remote:URL[,URL…]`: batches go whole to `bioner-stream serve`'s native
// endpoint, which runs the multi-turn conversations next to the model, KV cache and all.
import { z } from 'zod';
import type { PromptTemplate } from '../../domain/prompt-template.js';
import type { Answer, Query } from '../../domain/types.js';
import { validate } from '../../domain/validate.js';
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
      queries: queries.map((q) => ({ text: q.sentence.text, types: q.types, ...(q.guidelines === undefined ? {} : { guidelines: q.guidelines }) })),
    };
    return answersOf(await this.pool.post(ANSWERS_PATH, request), queries);
  }

  async close(): Promise<void> {
    this.pool.close();
  }
}

const ANSWER_REPLY = z.object({
  answers: z.array(z.array(z.object({ type: z.string(), raw: z.string(), confidences: z.record(z.string(), z.number()).optional() }))),
});

/** The reply's answers, if there is one Answer per asked type of each query, in order. */
function answersOf(reply: unknown, queries: Query[]): Answer[][] {
  const malformed = (problem: string) => malformedReply(`POST ${ANSWERS_PATH}`, problem, reply);
  const { answers } = validate(ANSWER_REPLY, reply, 'the reply', malformed);
  if (answers.length !== queries.length) throw malformed(`answers should hold ${queries.length} lists, one per query`);
  return queries.map(({ types }, q) => {
    const forQuery = answers[q]!;
    if (forQuery.length !== types.length) throw malformed(`answers[${q}] should hold ${types.length} answers, one per type`);
    types.forEach((type, t) => {
      if (forQuery[t]!.type !== type) throw malformed(`answers[${q}][${t}] is not an answer for "${type}"`);
    });
    return forQuery;
  });
}
