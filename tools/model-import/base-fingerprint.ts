// What identifies a base model's weights, so an adapter is only ever merged into the weights it
// was trained on: a sha256 over the GGUF file, or over a checkpoint's config and safetensors.
import { createHash } from 'node:crypto';
import { createReadStream, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';

export interface BaseFingerprint {
  /** The file or directory name, for error messages. */
  name: string;
  sha256: string;
}

export async function baseFingerprint(source: string): Promise<BaseFingerprint> {
  const files = statSync(source).isDirectory()
    ? readdirSync(source).filter((f) => f === 'config.json' || f.endsWith('.safetensors')).sort().map((f) => join(source, f))
    : [source];
  const hash = createHash('sha256');
  for (const file of files) {
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  }
  return { name: basename(source), sha256: hash.digest('hex') };
}
