// One place that turns connection settings into a kafkajs client, so the worker, the demo and
// the tests reach a local broker or a secured cluster the same way.
import { readFileSync } from 'node:fs';
import { Kafka, logLevel, type KafkaConfig, type SASLOptions } from 'kafkajs';

export const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;

export interface KafkaConnection {
  brokers: string[];
  clientId: string;
  /** TLS to the brokers: their certificates checked against `caFile` (else the system CAs) unless `verify` is off. */
  tls?: { caFile?: string; certFile?: string; keyFile?: string; verify: boolean };
  sasl?: { mechanism: (typeof SASL_MECHANISMS)[number]; username: string; password: string };
}

export function createKafka(connection: KafkaConnection): Kafka {
  return new Kafka({
    ...clientConfig(connection),
    logLevel: logLevel.WARN,
    // Keep retrying through a broker restart instead of giving up after ~30 s.
    retry: { retries: 10, initialRetryTime: 300, maxRetryTime: 10_000 },
  });
}

function clientConfig(connection: KafkaConnection): KafkaConfig {
  return {
    brokers: connection.brokers,
    clientId: connection.clientId,
    ssl: connection.tls ? tlsOptions(connection.tls) : false,
    ...(connection.sasl ? { sasl: connection.sasl as SASLOptions } : {}),
  };
}

/** Why a connection failed, by the socket's error code; the ones that mean "nobody is there". */
const UNREACHABLE: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
};

/**
 * Connects once, kafkajs's logger silenced and about one try per broker, and lists the
 * cluster's topics. Without it a missing broker is a minute of retry logs; with it, one line
 * within the connection timeout.
 */
export async function reachCluster(connection: KafkaConnection): Promise<Set<string>> {
  const admin = new Kafka({
    ...clientConfig(connection),
    logLevel: logLevel.NOTHING,
    retry: { retries: connection.brokers.length, initialRetryTime: 200, maxRetryTime: 1000 },
  }).admin();
  try {
    await admin.connect();
    return new Set(await admin.listTopics());
  } catch (error) {
    throw connectionFailure(error, connection.brokers.join(','));
  } finally {
    await admin.disconnect();
  }
}

/** A failure to connect in one line; other failures (a refused SASL login, ...) as kafkajs words them. */
function connectionFailure(error: unknown, brokers: string): unknown {
  // kafkajs wraps the last attempt's error (KafkaJSNumberOfRetriesExceeded) with it as the cause.
  const cause = ((error as { cause?: unknown }).cause ?? error) as { name?: string; code?: string; message?: string };
  if (!cause.name?.startsWith('KafkaJSConnection')) return error;
  const reason = cause.code ? UNREACHABLE[cause.code] : cause.message === 'Connection timeout' ? 'no answer in time' : undefined;
  return new Error(reason ? `no Kafka broker reachable at ${brokers} (${reason}); start one or pass --brokers`
    : `cannot connect to Kafka at ${brokers}: ${cause.message}`);
}

function tlsOptions({ caFile, certFile, keyFile, verify }: NonNullable<KafkaConnection['tls']>) {
  const read = (file: string, what: string) => {
    try {
      return readFileSync(file, 'utf8');
    } catch (error) {
      throw new Error(`cannot read the Kafka ${what} ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  };
  if ((certFile === undefined) !== (keyFile === undefined)) throw new Error('a Kafka client certificate needs both its certificate and its key file');
  return {
    rejectUnauthorized: verify,
    ...(caFile ? { ca: [read(caFile, 'CA file')] } : {}),
    ...(certFile && keyFile ? { cert: read(certFile, 'client certificate'), key: read(keyFile, 'client key') } : {}),
  };
}
