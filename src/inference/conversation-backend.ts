// Drives the conv_term chat: all conversations of a batch advance through their types in
// lockstep, each turn's answer feeding the next turn's prompt.
import type { Answer, Query } from '../domain/types.js';
import { conversationFor, type PromptTemplate } from '../stages/build-prompt.js';
import type { ChatEngine, ModelBackend } from './model-backend.js';

export class ConversationBackend implements ModelBackend {
  constructor(
    private readonly engine: ChatEngine,
    private readonly template: PromptTemplate,
  ) {}

  get modelId(): string {
    return this.engine.modelId;
  }

  async answer(queries: Query[]): Promise<Answer[][]> {
    const replies: string[][] = queries.map(() => []);
    const turns = Math.max(0, ...queries.map((q) => q.types.length));
    for (let step = 0; step < turns; step++) {
      const asking = queries.flatMap((q, i) => (step < q.types.length ? [i] : []));
      const conversations = asking.map((i) =>
        conversationFor(this.template, queries[i]!.sentence.text, queries[i]!.types, replies[i]!),
      );
      const completions = await this.engine.complete(conversations);
      asking.forEach((i, k) => replies[i]!.push(completions[k]!));
    }
    return queries.map((q, i) => q.types.map((type, t) => ({ type, raw: replies[i]![t]! })));
  }

  close(): Promise<void> {
    return this.engine.close();
  }
}
