// Runs and stops a JVM service for the tests (the Kafka broker, the Schema Registry): spawns
// java so that it dies with its owner, stops it cleanly, and checks ports and pids.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const STOP_TIMEOUT_MS = 20_000;

export const JAVA = process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
// util-linux setpriv makes the kernel SIGTERM the service when this process dies, however it dies.
const SETPRIV = (process.env.PATH ?? '').split(':').map((dir) => join(dir, 'setpriv')).find(existsSync);

// Services of this process that are still running when it exits get killed, so a test run
// that forgets (or fails) to stop one leaves no orphan java behind (also without setpriv).
const liveChildren = new Set();
process.once('exit', () => {
  for (const pid of liveChildren) try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
});

/**
 * Starts `java ...args` with stdout and stderr appended to logFile. `detached` (a CLI's
 * service) lets it outlive this process. `exited` resolves to a reason once java is gone.
 */
export function spawnJava(args, { cwd, logFile, detached = false }) {
  const out = openSync(logFile, 'a');
  const command = [JAVA, ...args];
  if (!detached && SETPRIV) command.unshift(SETPRIV, '--pdeathsig', 'SIGTERM');
  const child = spawn(command[0], command.slice(1), { cwd, detached, stdio: ['ignore', out, out] });
  closeSync(out);
  const exited = new Promise((resolveExit) => {
    child.once('error', (err) => resolveExit(`could not run ${JAVA} (${err.code})`));
    child.once('exit', (code, signal) => resolveExit(`java exited (${signal ?? code})`));
  });
  // Never what keeps the owner alive: a test file that is done exits (its 'beforeExit' stops the
  // service), and the exit hook above kills one left running.
  child.unref();
  if (!detached && child.pid) liveChildren.add(child.pid);
  return { pid: child.pid, exited };
}

/** SIGTERM (the service shuts down cleanly), then SIGKILL if it is still there after STOP_TIMEOUT_MS. */
export async function terminate(pid) {
  try {
    if (!signal(pid, 'SIGTERM')) return;
    const deadline = Date.now() + STOP_TIMEOUT_MS;
    while (Date.now() < deadline) {
      await sleep(100);
      if (!isAlive(pid)) return;
    }
    signal(pid, 'SIGKILL');
    while (isAlive(pid)) await sleep(100);
  } finally {
    liveChildren.delete(pid);
  }
}

function signal(pid, sig) {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}

// A service started by an earlier CLI call belongs to init once that call exits; where init
// does not reap (some containers) it stays a zombie, which signal 0 still reaches.
export function isAlive(pid) {
  if (!signal(pid, 0)) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z'; // state field follows "(comm) "
  } catch {
    return !existsSync('/proc'); // no procfs (macOS): trust signal 0
  }
}

/** Whether pid runs with `text` (its data dir) on its command line: a CLI's state file may hold a reused pid. */
export function isAliveWith(pid, text) {
  if (!isAlive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text);
  } catch {
    return !existsSync('/proc'); // no procfs (macOS): trust the pid
  }
}

/** Briefly listens on each port (0: any free one) to check it is free; resolves to the ports. */
export async function probePorts(ports, service) {
  const servers = [];
  try {
    for (const port of ports) {
      const server = createServer();
      servers.push(server);
      await new Promise((ok, fail) => server.once('error', fail).listen(port, '127.0.0.1', ok)).catch((err) => {
        throw new Error(`cannot use port ${port} for ${service}: ${err.code}`);
      });
    }
    return servers.map((s) => s.address().port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((ok) => s.close(ok))));
  }
}

/** Runs a command to completion, capturing stdout+stderr; a missing binary reads as exit 127. */
export function run(cmd, args, options) {
  return new Promise((done) => {
    const child = spawn(cmd, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    child.once('error', (err) => done({ code: 127, output: `could not run ${cmd} (${err.code}); is it installed and on PATH?` }));
    // Maven prints colour codes even with -B.
    child.once('close', (code) => done({ code, output: output.replace(/\x1b\[[0-9;]*m/g, '') }));
  });
}

export function tail(text, lines = 40) {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/**
 * The `start|stop` CLI of a service script. `start()` resolves to the running service's
 * `{ address, pid, dataDir, ... }` (detached, so it outlives the CLI); the state file remembers
 * it, so a second `start` prints the same address and `stop` finds it.
 */
export async function serviceCli(command, { name, stateFile, start }) {
  let state;
  try {
    state = JSON.parse(readFileSync(stateFile, 'utf8'));
  } catch { /* no service started */ }
  if (command === 'start') {
    if (state && isAliveWith(state.pid, state.dataDir)) {
      console.log(state.address);
      return;
    }
    if (state) rmSync(state.dataDir, { recursive: true, force: true }); // left by a service that died
    mkdirSync(dirname(stateFile), { recursive: true });
    const started = await start();
    writeFileSync(stateFile, JSON.stringify(started, null, 2) + '\n');
    console.error(`${name}: pid ${started.pid}, data ${started.dataDir}`);
    console.log(started.address);
  } else if (command === 'stop') {
    if (!state) {
      console.error(`${name}: no state file, nothing to stop`);
      return;
    }
    if (isAliveWith(state.pid, state.dataDir)) await terminate(state.pid);
    rmSync(state.dataDir, { recursive: true, force: true });
    rmSync(stateFile, { force: true });
    console.error(`${name}: stopped ${state.address}`);
  } else {
    console.error(`usage: node scripts/${name}.mjs start|stop`);
    process.exitCode = 2;
  }
}
