// The Confluent wire format (magic byte 0, big-endian int32 schema id, Avro body) and plain
// Avro, so Kafka Connect and other producers interoperate with the worker.
import avro from 'avsc';
import { documentType, toDocument } from './avro.js';
import type { Document } from './types.js';
import type { SchemaRegistry, WireSchema } from './schema-registry.js';

const MAGIC = 0;
const HEADER_BYTES = 5;

export async function encodeFramed(registry: SchemaRegistry, schema: WireSchema, topic: string, type: avro.Type, value: unknown): Promise<Buffer> {
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt8(MAGIC, 0);
  header.writeInt32BE(await registry.idFor(schema, topic), 1);
  return Buffer.concat([header, type.toBuffer(value)]);
}

/** The Avro body of a framed message (or the message itself when it is plain Avro). */
export function avroBody(bytes: Buffer): Buffer {
  return bytes.length >= HEADER_BYTES && bytes[0] === MAGIC ? bytes.subarray(HEADER_BYTES) : bytes;
}

/**
 * A Document from framed or plain Avro. A plain Avro Document never starts with byte 0 (that
 * would be an empty id), so the first byte tells the two apart. Throws on anything else.
 */
export async function decodeDocumentBytes(registry: SchemaRegistry, bytes: Buffer): Promise<Document> {
  return toDocument(await decodeFramed(registry, documentType, bytes));
}

/**
 * A value of `reader`'s schema from framed Avro (or plain, when the first byte is not 0), written
 * with whatever schema its id names: a producer may write an older or newer schema than ours.
 */
export async function decodeFramed(registry: SchemaRegistry, reader: avro.Type, bytes: Buffer): Promise<unknown> {
  if (bytes.length === 0) throw new Error('empty message');
  if (bytes[0] !== MAGIC) return decodeLossless(reader, bytes);
  if (bytes.length < HEADER_BYTES) throw new Error('truncated wire-format header');
  const writer = await registry.typeFor(bytes.readInt32BE(1));
  const body = bytes.subarray(HEADER_BYTES);
  const written = decodeLossless(writer, body);
  return writer.equals(reader) ? written : reader.fromBuffer(body, reader.createResolver(writer));
}

/**
 * The value as `writer` wrote it. avsc decodes invalid UTF-8 into U+FFFD without a word; only a
 * lossless decode re-encodes to the same bytes, so a difference is refused, never silently mended.
 */
function decodeLossless(writer: avro.Type, body: Buffer): unknown {
  const value = writer.fromBuffer(body);
  if (!writer.toBuffer(value).equals(body)) throw new Error('a string field is not valid UTF-8');
  return value;
}
