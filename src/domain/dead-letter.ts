// Dead letters keep the original bytes untouched, so a fixed producer or pipeline can replay
// them; why and where from travel in headers (as Kafka Connect's DLQ context headers do).
import type { OutputMessage, SourceRecord } from './records.js';

export type DeadLetterReason =
  | 'undecodable'
  | 'unknown_schema'
  | 'invalid_document'
  | 'empty_text'
  | 'oversized_text'
  | 'too_many_sentences'
  | 'processing_failed';

export const DEAD_LETTER_HEADERS = {
  reason: 'bioner.dlq.reason',
  detail: 'bioner.dlq.detail',
  topic: 'bioner.dlq.source.topic',
  partition: 'bioner.dlq.source.partition',
  offset: 'bioner.dlq.source.offset',
  timestamp: 'bioner.dlq.timestamp',
} as const;

export function deadLetter(
  topic: string,
  source: SourceRecord,
  reason: DeadLetterReason,
  detail: string,
  now = new Date(),
): OutputMessage {
  return {
    topic,
    key: source.key,
    value: source.value ?? Buffer.alloc(0),
    headers: {
      [DEAD_LETTER_HEADERS.reason]: reason,
      [DEAD_LETTER_HEADERS.detail]: detail.slice(0, 1000),
      [DEAD_LETTER_HEADERS.topic]: source.topic,
      [DEAD_LETTER_HEADERS.partition]: String(source.partition),
      [DEAD_LETTER_HEADERS.offset]: String(source.offset),
      [DEAD_LETTER_HEADERS.timestamp]: now.toISOString(),
    },
  };
}
