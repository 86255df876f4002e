// A pinned kustomize for `npm run k8s:validate`. No npm package ships kustomize, so it is built
// from its Go module with `go install` (the Go module proxy) into .cache/bin once, about a minute
// on two cores; later runs reuse it. KUSTOMIZE=/path/to/kustomize overrides the build.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** v5.8.2 builds with Go 1.26 (v5.8.3 needs 1.27). */
export const KUSTOMIZE_VERSION = 'v5.8.2';
const MODULE = 'sigs.k8s.io/kustomize/kustomize/v5';

/** The kustomize binary's path, building it first if needed. */
export async function ensureKustomize(root, log = (line) => console.error(line)) {
  if (process.env.KUSTOMIZE) return process.env.KUSTOMIZE;
  const binDir = join(root, '.cache', 'bin');
  const binary = join(binDir, `kustomize-${KUSTOMIZE_VERSION}`);
  if (existsSync(binary)) return binary;

  log(`k8s:validate: building kustomize ${KUSTOMIZE_VERSION} (go install ${MODULE}, once, about a minute)`);
  await mkdir(binDir, { recursive: true });
  // Into a scratch GOBIN, then renamed: an interrupted build never leaves a half-written binary.
  const gobin = await mkdtemp(join(binDir, '.go-install-'));
  try {
    await run('go', ['install', `${MODULE}@${KUSTOMIZE_VERSION}`], {
      env: { ...process.env, GOBIN: gobin, CGO_ENABLED: '0' },
      maxBuffer: 16 << 20,
    });
    await rename(join(gobin, 'kustomize'), binary);
  } catch (error) {
    const { code, stderr } = error;
    throw new Error(code === 'ENOENT'
      ? `go is not installed: it builds kustomize ${KUSTOMIZE_VERSION} (or set KUSTOMIZE=/path/to/kustomize)`
      : `go install ${MODULE}@${KUSTOMIZE_VERSION} failed:\n${stderr ?? error}`);
  } finally {
    await rm(gobin, { recursive: true, force: true });
  }
  return binary;
}

/** `kustomize build DIR` as YAML text. */
export async function kustomizeBuild(binary, dir) {
  const { stdout } = await run(binary, ['build', dir], { maxBuffer: 64 << 20 });
  return stdout;
}
