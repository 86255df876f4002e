#!/usr/bin/env node
// A real single-node Apache Kafka broker (KRaft, combined broker+controller) on loopback,
// without Docker: Maven resolves the pinned broker jars (scripts/kafka/pom.xml) once into
// .cache/kafka/lib, then each start formats a data dir and runs `java kafka.Kafka`.
//
// Module:  const broker = await startBroker();  ...  await broker.stop();
//          Restart with data kept: await broker.stop({ keepData: true });
//                                  await startBroker({ port: broker.port, dataDir: broker.dataDir });
//          TLS + SASL: startBroker({ secure: true }) also serves SASL_SSL (SCRAM-SHA-512) on
//          broker.secure.bootstrap, with a throwaway CA; restart it with { port, dataDir, secure: true }.
// CLI:     node scripts/kafka-broker.mjs start   # prints localhost:PORT as its last stdout line
//          node scripts/kafka-broker.mjs stop
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, renameSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import kafkajs from 'kafkajs';
import { JAVA, probePorts, run, serviceCli, spawnJava, tail, terminate } from './java-service.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const POM = join(ROOT, 'scripts', 'kafka', 'pom.xml');
const CACHE_DIR = join(ROOT, '.cache', 'kafka');
const LIB_DIR = join(CACHE_DIR, 'lib');
const LIB_MARKER = join(LIB_DIR, '.pom-sha256');
const STATE_FILE = join(CACHE_DIR, 'state.json');
const CLI_LOG_FILE = join(CACHE_DIR, 'broker.log');

const READY_TIMEOUT_MS = 60_000;
// CI has 2 cores and runs the tests next to the broker: small heap, SerialGC, and C1 only
// (starts ~25% faster and uses ~10% less memory; a test broker never needs C2's peak speed).
const JVM_OPTS = ['-Xms64m', '-Xmx512m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Djava.awt.headless=true'];

/** Resolves the broker jars into .cache/kafka/lib unless they are there for the current pom. */
export async function ensureKafkaJars() {
  const pomHash = createHash('sha256').update(readFileSync(POM)).digest('hex');
  const isCurrent = () => existsSync(LIB_MARKER) && readFileSync(LIB_MARKER, 'utf8') === pomHash;
  if (isCurrent()) return LIB_DIR;

  process.stderr.write('kafka-broker: resolving Kafka jars with Maven (first run only)...\n');
  // Resolve into a private dir and rename it into place, so concurrent first runs cannot
  // leave a half-filled lib dir behind.
  const staging = `${LIB_DIR}.tmp-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  const mvnArgs = ['-B', '-q', '-f', POM, 'dependency:copy-dependencies',
    '-DincludeScope=runtime', `-DoutputDirectory=${staging}`];
  const { code, output } = await run('mvn', mvnArgs, { cwd: ROOT });
  if (code !== 0) {
    rmSync(staging, { recursive: true, force: true });
    throw new Error(`mvn could not resolve the Kafka jars (exit ${code}):\n${output}`);
  }
  writeFileSync(join(staging, '.pom-sha256'), pomHash);
  // A concurrent first run may have finished meanwhile and be using its jars: keep those.
  if (!isCurrent()) {
    rmSync(LIB_DIR, { recursive: true, force: true });
    try {
      renameSync(staging, LIB_DIR);
    } catch (err) {
      if (!isCurrent()) throw err; // else another run renamed its dir in first
    }
  }
  rmSync(staging, { recursive: true, force: true });
  return LIB_DIR;
}

/**
 * Starts a broker and resolves once it answers Kafka requests.
 * With an existing, formatted dataDir (from `stop({ keepData: true })`) it keeps that data.
 * `detached` (used by the CLI) lets the broker outlive this process.
 */
export async function startBroker({ port, dataDir, logFile, detached = false, secure = false } = {}) {
  await ensureKafkaJars();
  // A port picked here can be taken by someone else before java binds it: pick again.
  for (let attempt = 1; ; attempt++) {
    try {
      return await launch({ port, dataDir, logFile, detached, secure });
    } catch (err) {
      if (attempt === 3 || !err.portTaken) throw err;
    }
  }
}

async function launch({ port, dataDir, logFile, detached, secure }) {
  const ownsDataDir = !dataDir;
  dataDir = resolve(dataDir ?? await mkdtemp(join(tmpdir(), 'kafka-broker-')));
  try {
    // A restart keeps the SASL_SSL port, as the caller keeps `port`, so clients reconnect to it.
    const secureState = secure ? readSecureState(dataDir) : undefined;
    // Bound together, so no two of the ports can be equal.
    const [brokerPort, controllerPort, securePort] = await probePorts(
      [port ?? 0, 0, ...(secure ? [secureState?.port ?? 0] : [])], 'the Kafka broker');
    logFile = resolve(logFile ?? join(dataDir, 'broker.log'));
    return await runBroker({ port: brokerPort, controllerPort, securePort, secureState, dataDir, logFile, detached });
  } catch (err) {
    if (ownsDataDir) rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
}

async function runBroker({ port, controllerPort, securePort, secureState, dataDir, logFile, detached }) {
  mkdirSync(dataDir, { recursive: true });
  const logDir = join(dataDir, 'kraft');
  const metaFile = join(logDir, 'meta.properties');
  const formatted = existsSync(metaFile);
  let secure;
  if (securePort) {
    // The SCRAM user can only be added by the storage format.
    if (!secureState && formatted) throw new Error(`${dataDir} was formatted without secure: true; cannot add the SCRAM user to it`);
    secure = { ...(secureState ?? await createSecureState(dataDir, securePort)), ...secureFiles(dataDir) };
  }
  const configFile = join(dataDir, 'server.properties');
  const log4jFile = join(dataDir, 'log4j2.properties');
  writeFileSync(configFile, serverProperties({ port, controllerPort, logDir, secure }));
  writeFileSync(log4jFile, LOG4J2_PROPERTIES);
  const javaArgs = [...JVM_OPTS, `-Dlog4j2.configurationFile=${log4jFile}`, '-cp', join(LIB_DIR, '*')];

  let clusterId;
  if (formatted) {
    clusterId = readFileSync(metaFile, 'utf8').match(/^cluster\.id=(.+)$/m)?.[1];
  } else {
    clusterId = newClusterId();
    const scram = secure ? ['--add-scram', `SCRAM-SHA-512=[name=${secure.username},password=${secure.password}]`] : [];
    const format = await run(JAVA, [...javaArgs, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', configFile, ...scram], { cwd: dataDir });
    if (format.code !== 0) throw new Error(`Kafka storage format failed (exit ${format.code}):\n${tail(format.output)}`);
  }

  const { pid, exited } = spawnJava([...javaArgs, 'kafka.Kafka', configFile], { cwd: dataDir, logFile, detached });

  const bootstrap = `localhost:${port}`;
  const probing = new AbortController();
  const failure = await Promise.race([waitUntilReady(bootstrap, clusterId, probing.signal), exited]);
  probing.abort();
  if (failure) {
    await terminate(pid);
    const log = await readFile(logFile, 'utf8').catch(() => '');
    const err = new Error(`Kafka broker on ${bootstrap} did not come up: ${failure}\n${logExcerpt(log, logFile)}`);
    err.portTaken = /Address already in use/.test(log);
    throw err;
  }

  return {
    bootstrap, port, pid, dataDir, logFile,
    ...(secure && {
      secure: {
        bootstrap: `localhost:${secure.port}`, caFile: secure.caFile, clientCertFile: secure.clientCertFile,
        clientKeyFile: secure.clientKeyFile, username: secure.username, password: secure.password,
      },
    }),
    async stop({ keepData = false } = {}) {
      await terminate(pid);
      if (!keepData) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

const SECURE_STATE = 'secure.json';

/** The SASL_SSL port and SCRAM user of a data dir made with `secure`, if any. */
function readSecureState(dataDir) {
  try {
    return JSON.parse(readFileSync(join(dataDir, SECURE_STATE), 'utf8'));
  } catch (err) {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  }
}

function secureFiles(dataDir) {
  const file = (name) => join(dataDir, 'tls', name);
  return {
    caFile: file('ca.crt'), clientCertFile: file('client.crt'), clientKeyFile: file('client.key'),
    keystoreFile: file('broker.keystore.pem'),
  };
}

/**
 * Makes a throwaway CA and a broker and a client key + cert signed by it (EC P-256, PEM, valid
 * 2 days) under dataDir/tls, and a random SCRAM password; remembers the password and the port.
 */
async function createSecureState(dataDir, port) {
  const tlsDir = join(dataDir, 'tls');
  mkdirSync(tlsDir, { recursive: true });
  const file = (name) => join(tlsDir, name);
  writeFileSync(file('openssl.cnf'), OPENSSL_CNF);
  const openssl = async (...args) => {
    const { code, output } = await run('openssl', args, { cwd: tlsDir });
    if (code !== 0) throw new Error(`openssl ${args[0]} failed (exit ${code}):\n${tail(output)}`);
  };
  // -nodes: unencrypted PKCS#8 keys, which Kafka's PEM keystore and node's tls both read as is.
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-config', 'openssl.cnf'];
  await openssl('req', '-x509', ...newKey, '-extensions', 'ca', '-subj', '/CN=bioner-stream test CA',
    '-days', '2', '-keyout', 'ca.key', '-out', 'ca.crt');
  for (const [name, cn] of [['broker', 'localhost'], ['client', 'bioner']]) {
    await openssl('req', '-new', ...newKey, '-subj', `/CN=${cn}`, '-keyout', `${name}.key`, '-out', `${name}.csr`);
    await openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key',
      '-set_serial', `0x${randomBytes(8).toString('hex')}`, '-days', '2',
      '-extfile', 'openssl.cnf', '-extensions', name, '-out', `${name}.crt`);
    rmSync(file(`${name}.csr`));
  }
  // Kafka's PEM keystore file: the private key, then the certificate chain.
  writeFileSync(secureFiles(dataDir).keystoreFile,
    ['broker.key', 'broker.crt', 'ca.crt'].map((name) => readFileSync(file(name), 'utf8')).join(''));
  // base64url: no ',' ']' or '=' to break the --add-scram argument.
  const state = { port, username: 'bioner', password: randomBytes(18).toString('base64url') };
  writeFileSync(join(dataDir, SECURE_STATE), JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
  return state;
}

// Extensions for the CA and the two leaf certs; [req] and [dn] only satisfy `openssl req`.
const OPENSSL_CNF = `[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[broker]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
authorityKeyIdentifier = keyid
[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
`;

function serverProperties({ port, controllerPort, logDir, secure }) {
  const listeners = [`PLAINTEXT://127.0.0.1:${port}`, `CONTROLLER://127.0.0.1:${controllerPort}`];
  const advertised = [`PLAINTEXT://localhost:${port}`];
  const protocols = ['PLAINTEXT:PLAINTEXT', 'CONTROLLER:PLAINTEXT'];
  if (secure) {
    listeners.push(`SASL_SSL://127.0.0.1:${secure.port}`);
    advertised.push(`SASL_SSL://localhost:${secure.port}`);
    protocols.push('SASL_SSL:SASL_SSL');
  }
  return `# Generated by scripts/kafka-broker.mjs
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${controllerPort}
controller.listener.names=CONTROLLER
listeners=${listeners.join(',')}
advertised.listeners=${advertised.join(',')}
listener.security.protocol.map=${protocols.join(',')}
inter.broker.listener.name=PLAINTEXT
log.dirs=${logDir}
num.partitions=1
auto.create.topics.enable=true
group.initial.rebalance.delay.ms=0
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
# One partition instead of 50 each: the first consumer group / transaction is ready sooner.
offsets.topic.num.partitions=1
transaction.state.log.num.partitions=1
${secure ? saslSslProperties(secure) : ''}`;
}

// Per listener, as Kafka only applies ssl.client.auth to a SASL_SSL listener in this form.
// ssl.client.auth=requested: a client may go without a cert, but one it shows must be from the CA.
function saslSslProperties({ keystoreFile, caFile }) {
  return `listener.name.sasl_ssl.sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.ssl.keystore.type=PEM
listener.name.sasl_ssl.ssl.keystore.location=${keystoreFile}
listener.name.sasl_ssl.ssl.truststore.type=PEM
listener.name.sasl_ssl.ssl.truststore.location=${caFile}
listener.name.sasl_ssl.ssl.client.auth=requested
`;
}

// Console output goes to the log file; the config dumps are left out to keep its tail useful.
// log4j's own shutdown hook would stop logging before Kafka's shutdown hook is done.
const LOG4J2_PROPERTIES = `shutdownHook=disable
appender.out.type=Console
appender.out.name=out
appender.out.layout.type=PatternLayout
appender.out.layout.pattern=[%d] %p %m (%c)%n
rootLogger.level=INFO
rootLogger.appenderRef.out.ref=out
logger.config.name=org.apache.kafka.common.config
logger.config.level=WARN
`;

// Kafka cluster ids are 16 random bytes in URL-safe base64; one starting with '-' would
// be taken for an option by the format command.
function newClusterId() {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/** Resolves to undefined once the broker answers a metadata request as our cluster. */
async function waitUntilReady(bootstrap, clusterId, cancel) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline && !cancel.aborted) {
    const admin = new kafkajs.Kafka({
      clientId: 'kafka-broker-probe', brokers: [bootstrap], logLevel: kafkajs.logLevel.NOTHING,
      connectionTimeout: 1000, requestTimeout: 2000, retry: { retries: 0 },
    }).admin();
    try {
      await admin.connect();
      // The broker only opens its listener once started, but something else may own the port.
      if ((await admin.describeCluster()).clusterId === clusterId) return undefined;
    } catch { /* not up yet */ } finally {
      await admin.disconnect().catch(() => {});
    }
    await sleep(250);
  }
  return `not ready within ${READY_TIMEOUT_MS / 1000} s`;
}

// Kafka logs the cause of a failed start well above the shutdown messages that end the log.
function logExcerpt(log, logFile) {
  const errors = log.split('\n').filter((line) => /^\[.*?\] (ERROR|FATAL) |^Caused by: /.test(line)).slice(0, 12);
  return [
    ...(errors.length ? [`--- ${logFile} (errors) ---`, ...errors] : []),
    `--- ${logFile} (tail) ---`, tail(log, 20),
  ].join('\n');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const start = async () => {
    rmSync(CLI_LOG_FILE, { force: true });
    const { bootstrap, port, pid, dataDir, logFile } = await startBroker({ logFile: CLI_LOG_FILE, detached: true });
    return { address: bootstrap, port, pid, dataDir, log: logFile };
  };
  serviceCli(process.argv[2], { name: 'kafka-broker', stateFile: STATE_FILE, start }).catch((err) => {
    console.error(`kafka-broker: ${err.message}`);
    process.exitCode = 1;
  });
}
