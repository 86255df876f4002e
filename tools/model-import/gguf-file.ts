// Reads a GGUF file (llama.cpp's model format): header, metadata, tensor directory, and raw
// tensor bytes on demand. Layout (little-endian): "GGUF", version u32, tensor count u64,
// metadata count u64, metadata key/values, tensor infos, then tensor data aligned to
// `general.alignment` (default 32).
import { open, type FileHandle } from 'node:fs/promises';
import { ggmlType, tensorByteLength, type GgmlType } from './ggml-types.js';

export type GgufValue = number | bigint | boolean | string | GgufValue[];

export interface GgufTensorInfo {
  name: string;
  /** ggml order: dims[0] is the fastest-varying axis, so an HF [out, in] weight is [in, out] here. */
  dims: number[];
  type: GgmlType;
  /** Absolute position of the first byte in the file. */
  offset: number;
  byteLength: number;
}

export interface GgufFile {
  version: number;
  metadata: Map<string, GgufValue>;
  /** Each metadata value as stored (type id and payload), so a writer can copy it with its exact type. */
  encodedMetadata: Map<string, Buffer>;
  tensors: Map<string, GgufTensorInfo>;
  readTensor(info: GgufTensorInfo): Promise<Buffer>;
  close(): Promise<void>;
}

export const GGUF_MAGIC = 'GGUF';
const DEFAULT_ALIGNMENT = 32;
/** The header (vocabulary included) is read in one buffer, grown until it fits. */
const INITIAL_HEADER_BYTES = 16 << 20;

/** Thrown by the cursor when the header buffer is too short; the caller retries with more. */
class NeedMoreBytes extends Error {}

class Cursor {
  position = 0;
  constructor(private readonly buffer: Buffer, private readonly complete: boolean) {}

  private take(length: number): number {
    const at = this.position;
    if (at + length > this.buffer.length) {
      if (this.complete) throw new Error('not a valid GGUF file: truncated header');
      throw new NeedMoreBytes();
    }
    this.position += length;
    return at;
  }

  u32 = (): number => this.buffer.readUInt32LE(this.take(4));
  /** Counts and offsets: exact as numbers up to 2^53, far beyond any model file. */
  u64 = (): number => Number(this.buffer.readBigUInt64LE(this.take(8)));
  string = (): string => {
    const length = this.u64();
    const at = this.take(length);
    return this.buffer.toString('utf8', at, at + length);
  };

  value(type: number): GgufValue {
    const b = this.buffer;
    switch (type) {
      case 0: return b.readUInt8(this.take(1));
      case 1: return b.readInt8(this.take(1));
      case 2: return b.readUInt16LE(this.take(2));
      case 3: return b.readInt16LE(this.take(2));
      case 4: return b.readUInt32LE(this.take(4));
      case 5: return b.readInt32LE(this.take(4));
      case 6: return shortestFloat32(b.readFloatLE(this.take(4)));
      case 7: return b.readUInt8(this.take(1)) !== 0;
      case 8: return this.string();
      case 9: {
        const elementType = this.u32();
        const count = this.u64();
        return Array.from({ length: count }, () => this.value(elementType));
      }
      case 10: return b.readBigUInt64LE(this.take(8));
      case 11: return b.readBigInt64LE(this.take(8));
      case 12: return b.readDoubleLE(this.take(8));
      default: throw new Error(`not a valid GGUF file: unknown metadata value type ${type}`);
    }
  }
}

/**
 * The shortest decimal that is the same float32, so metadata such as an RMSNorm epsilon
 * stored as float32 reads back as 1e-5, as in the original config, not 9.99999974e-6.
 */
function shortestFloat32(value: number): number {
  for (let digits = 1; digits < 9; digits++) {
    const candidate = Number(value.toPrecision(digits));
    if (Math.fround(candidate) === value) return candidate;
  }
  return value;
}

interface Header {
  version: number;
  metadata: Map<string, GgufValue>;
  encodedMetadata: Map<string, Buffer>;
  tensors: Map<string, GgufTensorInfo>;
}

function parseHeader(buffer: Buffer, complete: boolean): Header {
  const cursor = new Cursor(buffer, complete);
  const at = cursor.position;
  cursor.u32();
  if (buffer.toString('latin1', at, at + 4) !== GGUF_MAGIC) throw new Error('not a GGUF file (bad magic)');
  const version = cursor.u32();
  // Version 1 used 32-bit counts and lengths; llama.cpp itself no longer reads it.
  if (version !== 2 && version !== 3) throw new Error(`unsupported GGUF version ${version}; expected 2 or 3`);
  const tensorCount = cursor.u64();
  const metadataCount = cursor.u64();
  const metadata = new Map<string, GgufValue>();
  const encodedMetadata = new Map<string, Buffer>();
  for (let i = 0; i < metadataCount; i++) {
    const key = cursor.string();
    const start = cursor.position;
    metadata.set(key, cursor.value(cursor.u32()));
    encodedMetadata.set(key, Buffer.from(buffer.subarray(start, cursor.position)));
  }
  const infos: { name: string; dims: number[]; type: GgmlType; relative: number }[] = [];
  for (let i = 0; i < tensorCount; i++) {
    const name = cursor.string();
    const dims = Array.from({ length: cursor.u32() }, () => cursor.u64());
    const type = ggmlType(cursor.u32(), name);
    infos.push({ name, dims, type, relative: cursor.u64() });
  }
  const alignment = Number(metadata.get('general.alignment') ?? DEFAULT_ALIGNMENT);
  const dataStart = Math.ceil(cursor.position / alignment) * alignment;
  const tensors = new Map<string, GgufTensorInfo>();
  for (const { name, dims, type, relative } of infos) {
    tensors.set(name, { name, dims, type, offset: dataStart + relative, byteLength: tensorByteLength(type, dims, name) });
  }
  return { version, metadata, encodedMetadata, tensors };
}

async function readHeader(file: FileHandle, fileSize: number): Promise<Header> {
  for (let size = Math.min(INITIAL_HEADER_BYTES, fileSize); ; size = Math.min(size * 2, fileSize)) {
    const buffer = Buffer.alloc(size);
    await file.read(buffer, 0, size, 0);
    try {
      return parseHeader(buffer, size === fileSize);
    } catch (error) {
      if (!(error instanceof NeedMoreBytes)) throw error;
    }
  }
}

export async function openGguf(path: string): Promise<GgufFile> {
  const file = await open(path, 'r');
  try {
    const { size } = await file.stat();
    const header = await readHeader(file, size);
    for (const info of header.tensors.values()) {
      if (info.offset + info.byteLength > size) throw new Error(`${path}: tensor ${info.name} lies past the end of the file`);
    }
    return {
      ...header,
      async readTensor(info) {
        const buffer = Buffer.alloc(info.byteLength);
        await file.read(buffer, 0, info.byteLength, info.offset);
        return buffer;
      },
      close: () => file.close(),
    };
  } catch (error) {
    await file.close();
    throw error;
  }
}

/** A metadata value of the expected kind, or an error naming the key. */
export function metadataOf(gguf: Pick<GgufFile, 'metadata'>) {
  const get = (key: string): GgufValue | undefined => gguf.metadata.get(key);
  const number = (key: string): number | undefined => {
    const value = get(key);
    if (value === undefined) return undefined;
    if (typeof value !== 'number' && typeof value !== 'bigint') throw new Error(`GGUF metadata ${key} is not a number`);
    return Number(value);
  };
  return {
    number,
    requiredNumber(key: string): number {
      const value = number(key);
      if (value === undefined) throw new Error(`GGUF metadata lacks ${key}`);
      return value;
    },
    string(key: string): string | undefined {
      const value = get(key);
      if (value !== undefined && typeof value !== 'string') throw new Error(`GGUF metadata ${key} is not a string`);
      return value;
    },
    boolean(key: string): boolean | undefined {
      const value = get(key);
      if (value !== undefined && typeof value !== 'boolean') throw new Error(`GGUF metadata ${key} is not a boolean`);
      return value;
    },
    array(key: string): GgufValue[] | undefined {
      const value = get(key);
      if (value !== undefined && !Array.isArray(value)) throw new Error(`GGUF metadata ${key} is not an array`);
      return value;
    },
  };
}
