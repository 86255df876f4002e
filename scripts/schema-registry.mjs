#!/usr/bin/env node
// A real Schema Registry on loopback, without Docker: Apicurio Registry 3.0.9 (the last line
// that runs on Java 17) serving the Confluent-compatible API, its storage an H2 file database.
// Maven fetches the app once into .cache/schema-registry, then each start runs its runner jar.
//
// Module:  const registry = await startRegistry();  // registry.url: http://127.0.0.1:PORT/apis/ccompat/v7
//          ...  await registry.stop();
//          Restart with schemas and ids kept: await registry.stop({ keepData: true });
//                                             await startRegistry({ port: registry.port, dataDir: registry.dataDir });
// CLI:     node scripts/schema-registry.mjs start   # prints the URL as its last stdout line
//          node scripts/schema-registry.mjs stop
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { probePorts, run, serviceCli, spawnJava, tail, terminate } from './java-service.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const VERSION = '3.0.9';
const ARTIFACT = `io.apicurio:apicurio-registry-app:${VERSION}:tar.gz:all`;
const TARBALL = `apicurio-registry-app-${VERSION}-all.tar.gz`;
const RUNNER_JAR = `apicurio-registry-app-${VERSION}-runner.jar`;
const CACHE_DIR = join(ROOT, '.cache', 'schema-registry');
const APP_DIR = join(CACHE_DIR, `apicurio-registry-app-${VERSION}`);
const STATE_FILE = join(CACHE_DIR, 'state.json');

const READY_TIMEOUT_MS = 90_000;
// Same reasons as the broker's: 2 cores shared with the tests, and a test registry never needs C2.
const JVM_OPTS = ['-Xmx384m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1'];

/** Fetches and unpacks the registry app into .cache/schema-registry unless it is there. */
export async function ensureRegistry() {
  const isThere = () => existsSync(join(APP_DIR, RUNNER_JAR));
  if (isThere()) return APP_DIR;

  process.stderr.write('schema-registry: fetching Apicurio Registry with Maven (first run only)...\n');
  // Unpack into a private dir and rename it into place, so concurrent first runs (also two
  // calls in one process) cannot leave a half-filled app dir behind.
  mkdirSync(CACHE_DIR, { recursive: true });
  const staging = mkdtempSync(`${APP_DIR}.tmp-`);
  try {
    // dependency:copy resolves through the local repository (whichever settings.xml names)
    // and copies the tarball out, so its path in that repository is never needed.
    const fetched = await run('mvn', ['-B', '-q', 'dependency:copy', `-Dartifact=${ARTIFACT}`, `-DoutputDirectory=${staging}`], { cwd: ROOT });
    if (fetched.code !== 0) throw new Error(`mvn could not fetch ${ARTIFACT} (exit ${fetched.code}):\n${tail(fetched.output)}`);
    const unpacked = await run('tar', ['xzf', TARBALL], { cwd: staging });
    if (unpacked.code !== 0) throw new Error(`tar could not unpack ${TARBALL} (exit ${unpacked.code}):\n${tail(unpacked.output)}`);
    rmSync(join(staging, TARBALL));
    try {
      renameSync(staging, APP_DIR);
    } catch (err) {
      if (!isThere()) throw err; // else a concurrent first run renamed its dir in first
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return APP_DIR;
}

/**
 * Starts a registry and resolves once its Confluent-compatible API answers.
 * With the dataDir of a registry stopped with `{ keepData: true }` it keeps its schemas and ids.
 * `detached` (used by the CLI) lets the registry outlive this process.
 */
export async function startRegistry({ port, dataDir, detached = false } = {}) {
  await ensureRegistry();
  // A port picked here can be taken by someone else before java binds it: pick again.
  for (let attempt = 1; ; attempt++) {
    try {
      return await launch({ port, dataDir, detached });
    } catch (err) {
      if (attempt === 3 || !err.portTaken) throw err;
    }
  }
}

async function launch({ port, dataDir, detached }) {
  [port] = await probePorts([port ?? 0], 'the Schema Registry');
  const ownsDataDir = !dataDir;
  dataDir = resolve(dataDir ?? await mkdtemp(join(tmpdir(), 'schema-registry-')));
  try {
    return await runRegistry({ port, dataDir, detached });
  } catch (err) {
    if (ownsDataDir) rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
}

async function runRegistry({ port, dataDir, detached }) {
  mkdirSync(dataDir, { recursive: true });
  const logFile = join(dataDir, 'registry.log');
  // A restart appends to the log: only what this run wrote says whether it is up.
  const logStart = existsSync(logFile) ? statSync(logFile).size : 0;
  const javaArgs = [
    ...JVM_OPTS,
    '-Dquarkus.http.host=127.0.0.1', `-Dquarkus.http.port=${port}`,
    `-Dapicurio.datasource.url=jdbc:h2:file:${join(dataDir, 'registry')}`,
    '-jar', RUNNER_JAR,
  ];
  const { pid, exited } = spawnJava(javaArgs, { cwd: APP_DIR, logFile, detached });

  const url = `http://127.0.0.1:${port}/apis/ccompat/v7`;
  const probing = new AbortController();
  const failure = await Promise.race([waitUntilReady(url, logFile, logStart, probing.signal), exited]);
  probing.abort();
  if (failure) {
    await terminate(pid);
    const log = await readLog(logFile, logStart).catch(() => '');
    const err = new Error(`Schema Registry on port ${port} did not come up: ${failure}\n--- ${logFile} (tail) ---\n${tail(log, 20)}`);
    err.portTaken = /Port \d+ seems to be in use/.test(log);
    throw err;
  }

  return {
    url, port, dataDir, pid,
    async stop({ keepData = false } = {}) {
      await terminate(pid);
      if (!keepData) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Resolves to undefined once this run's registry answers `GET /subjects` with 200. */
async function waitUntilReady(url, logFile, logStart, cancel) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline && !cancel.aborted) {
    try {
      if ((await fetch(`${url}/subjects`, { signal: AbortSignal.timeout(2000) })).ok) {
        // Something else may own the port: only our registry's access log proves it answered.
        const log = await readLog(logFile, logStart);
        if (log.includes('path="/apis/ccompat/v7/subjects" response_code="200"')) return undefined;
      }
    } catch { /* not up yet */ }
    await sleep(250);
  }
  return `not ready within ${READY_TIMEOUT_MS / 1000} s`;
}

/** What the log got from logStart (a byte offset) on. */
async function readLog(logFile, logStart) {
  return (await readFile(logFile)).subarray(logStart).toString('utf8');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const start = async () => {
    const { url, port, pid, dataDir } = await startRegistry({ detached: true });
    return { address: url, port, pid, dataDir, log: join(dataDir, 'registry.log') };
  };
  serviceCli(process.argv[2], { name: 'schema-registry', stateFile: STATE_FILE, start }).catch((err) => {
    console.error(`schema-registry: ${err.message}`);
    process.exitCode = 1;
  });
}
