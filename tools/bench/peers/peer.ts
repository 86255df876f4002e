// The benchmark's peers: other ways to run the same model on the same conv_term conversations
// (llama.cpp, transformers.js generate()), each in a child process of its own (peer-process.ts)
// so its memory and CPU time are its own. One interface for all of them.
import { fork, type ChildProcess } from 'node:child_process';
import { ask, stop, type FailedReply } from '../child-requests.js';
import type { ChatMessage, Query } from '../../../src/domain/types.js';
import { GuidelinePlan } from '../../../src/inference/model-guidelines.js';
import { loadPromptTemplate } from '../../../src/stages/build-prompt.js';
import { askInTurns } from '../../../src/stages/conversation-turns.js';

export const PEERS = ['llama-cpp', 'transformers-js'] as const;
export type PeerName = (typeof PEERS)[number];

export interface PeerOptions {
  /** The ONNX model directory: tokenizer, chat template, guidelines (and transformers.js's weights). */
  modelDir: string;
  /** llama.cpp only: the GGUF file with the same weights. */
  gguf?: string;
  threads: number;
  maxNewTokens: number;
  /** llama.cpp only: conversations run at once, one context sequence each, batched together. */
  sequences?: number;
  /** llama.cpp only: tokens per decode batch. */
  batchSize?: number;
}

/** What a peer did for some queries. */
export interface PeerRun {
  /** The raw assistant turn per query per type, in type order, special tokens left out. */
  answers: string[][];
  /** Prompt tokens the model had to evaluate (what was not already in its cache). */
  promptTokens: number;
  generatedTokens: number;
}

export interface PeerResult extends PeerRun {
  seconds: number;
  /** CPU time of the peer's process over the run. */
  cpuSeconds: number;
  /** The peer process's peak resident memory so far, model loading included. */
  peakRssMb: number;
}

/** A loaded peer, inside its own process. */
export interface Peer {
  run(queries: readonly Query[]): Promise<PeerRun>;
  close(): Promise<void>;
}

/**
 * `query` asked as the pipeline asks this model: conv_term under the query's guidelines, else
 * those the model lists for its types, a turn at a time through `complete`; the raw answer per type.
 */
export async function askAsPipeline(modelDir: string, query: Query, complete: (chat: ChatMessage[]) => Promise<string>): Promise<string[]> {
  const guidelines = query.guidelines ?? planOf(modelDir).groups(query.types)[0]!.guidelines;
  const answers = await askInTurns(loadPromptTemplate('conv_term'), { ...query, guidelines }, complete);
  return answers.map((answer) => answer.raw);
}

/** Read once per model directory: every query asks it. */
const plans = new Map<string, GuidelinePlan>();
const planOf = (modelDir: string) => plans.get(modelDir) ?? plans.set(modelDir, GuidelinePlan.forModel(modelDir)).get(modelDir)!;

/** Asked of a peer process, and its replies. */
export type PeerRequest = { kind: 'load'; peer: PeerName; options: PeerOptions } | { kind: 'run'; queries: Query[] } | { kind: 'stop' };
export type PeerReply = { kind: 'loaded' } | { kind: 'ran'; result: PeerResult } | { kind: 'failed'; message: string };

/** A peer in its child process, loaded once and run on as many sets of queries as asked. */
export class PeerProcess {
  private constructor(readonly name: PeerName, private readonly child: ChildProcess) {}

  static async start(name: PeerName, options: PeerOptions): Promise<PeerProcess> {
    const peer = new PeerProcess(name, fork(new URL('./peer-process.js', import.meta.url)));
    await peer.ask({ kind: 'load', peer: name, options });
    return peer;
  }

  async run(queries: Query[]): Promise<PeerResult> {
    const reply = await this.ask({ kind: 'run', queries });
    if (reply.kind !== 'ran') throw new Error(`peer ${this.name} did not run`);
    return reply.result;
  }

  close(): Promise<void> {
    return stop(this.child, { kind: 'stop' } satisfies PeerRequest);
  }

  private ask(request: PeerRequest): Promise<Exclude<PeerReply, FailedReply>> {
    return ask<PeerRequest, PeerReply>(this.child, request, `peer ${this.name}`);
  }
}
