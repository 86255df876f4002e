// One place that turns connection settings into a kafkajs client, so the worker, the demo and
// the tests reach a local broker or a secured cluster the same way.
import { readFileSync } from 'node:fs';
import { Kafka, logLevel, type SASLOptions } from 'kafkajs';

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
    brokers: connection.brokers,
    clientId: connection.clientId,
    ssl: connection.tls ? tlsOptions(connection.tls) : false,
    ...(connection.sasl ? { sasl: connection.sasl as SASLOptions } : {}),
    logLevel: logLevel.WARN,
    // Keep retrying through a broker restart instead of giving up after ~30 s.
    retry: { retries: 10, initialRetryTime: 300, maxRetryTime: 10_000 },
  });
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
