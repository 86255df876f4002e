// The ModelBackend of `openai:URL[,URL…][?model=NAME]`: any OpenAI-compatible chat server (vLLM,
// llama.cpp, `bioner-stream serve`). Such servers answer one turn at a time, so the multi-turn
// conversation is kept here (`askInTurns`): each type's question carries the answers to the earlier types.
import type { PromptTemplate } from '../../domain/prompt-template.js';
import type { Answer, ChatMessage, Query } from '../../domain/types.js';
import { askInTurns } from '../../stages/conversation-turns.js';
import type { ModelBackend } from '../model-backend.js';
import type { EndpointPool } from './endpoint-pool.js';
import { connectServers, malformedReply, type RemoteOptions } from './server-connection.js';

const CHAT_COMPLETIONS_PATH = '/v1/chat/completions';

export interface OpenAiOptions extends Partial<RemoteOptions> {
  /** Bound on each answer's length. */
  maxNewTokens: number;
}

export class OpenAiBackend implements ModelBackend {
  private constructor(
    /** The model asked for: the spec's `?model=`, else the first the servers list. */
    readonly modelId: string,
    private readonly template: PromptTemplate,
    private readonly maxNewTokens: number,
    private readonly pool: EndpointPool,
  ) {}

  static async connect(spec: string, template: PromptTemplate, options: OpenAiOptions): Promise<OpenAiBackend> {
    const { maxNewTokens, ...remote } = options;
    const { pool, model } = await connectServers(spec, 'openai', remote);
    return new OpenAiBackend(model, template, maxNewTokens, pool);
  }

  /** Queries run side by side, bounded by the pool's in-flight limit. */
  answer(queries: Query[]): Promise<Answer[][]> {
    return Promise.all(queries.map((query) => askInTurns(this.template, query, (chat) => this.complete(chat))));
  }

  async close(): Promise<void> {
    this.pool.close();
  }

  /** The assistant's next turn. */
  private async complete(messages: ChatMessage[]): Promise<string> {
    const reply = await this.pool.post(CHAT_COMPLETIONS_PATH, {
      model: this.modelId, messages, temperature: 0, max_tokens: this.maxNewTokens, stream: false,
    });
    const content = (reply as { choices?: { message?: { content?: unknown } }[] } | null)?.choices?.[0]?.message?.content;
    if (typeof content !== 'string') throw malformedReply(`POST ${CHAT_COMPLETIONS_PATH}`, 'no choices[0].message.content', reply);
    return content;
  }
}
