// A record to publish, and the input record it came from.
import type { IHeaders } from 'kafkajs';

export interface OutputMessage {
  topic: string;
  key: string | Buffer | null;
  value: Buffer;
  headers?: IHeaders;
}

/** Where an input record sits in the input topic. */
export interface SourceRecord {
  topic: string;
  partition: number;
  offset: bigint;
  key: Buffer | null;
  value: Buffer | null;
  /** The record's timestamp, milliseconds since the epoch. */
  timestamp: number;
}
