// The native batch endpoint of `bioner-stream serve`, shared by the server and the `remote:`
// backend: sentences with their types and the prompt template in, one Answer per type out.
import type { PromptTemplate } from '../../domain/prompt-template.js';
import type { Answer } from '../../domain/types.js';

export const ANSWERS_PATH = '/v1/answers';

/** Names the caller for the server's per-client fairness bound (default: the peer address). */
export const CLIENT_HEADER = 'x-bioner-client';

export interface AnswerRequest {
  /** The template travels with the request, so workers with their own templates can share a server. */
  template: PromptTemplate;
  /** `guidelines`: "Follow {guidelines} guidelines." for this query; absent: the template's own. */
  queries: { text: string; types: string[]; guidelines?: string }[];
}

export interface AnswerResponse {
  /** The served model, recorded in each entity's provenance. */
  model: string;
  /** One Answer per type of each query, in the query's type order. */
  answers: Answer[][];
}

/** The error body of every endpoint, in OpenAI's shape so OpenAI clients show the message. */
export interface ErrorBody {
  error: { message: string; type: string };
}
