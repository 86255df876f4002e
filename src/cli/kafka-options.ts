// The options of the commands that talk to Kafka (run, produce, tail), each row once: the
// connection (brokers, TLS, SASL), the topics and the Schema Registry, with what they turn into.
import type { Topics } from '../domain/records.js';
import type { SchemaRegistrySettings } from '../domain/schema-registry.js';
import { reachCluster, SASL_MECHANISMS, type KafkaConnection } from '../kafka/connection.js';
import { DEFAULT_TOPICS } from '../kafka/topics.js';
import { choice, integer, list, onOff, text, UsageError, type OptionValues } from './options.js';

export const KAFKA_OPTIONS = {
  brokers: list('LIST', 'bootstrap brokers, comma-separated', ['localhost:9092']),
  'kafka-ssl': onOff('TLS to the brokers', false),
  'kafka-ca-file': text('FILE', "PEM CA bundle the brokers' certificates are checked against (default: the system CAs)"),
  'kafka-cert-file': text('FILE', 'PEM client certificate, for brokers that require mutual TLS'),
  'kafka-key-file': text('FILE', 'PEM key of the client certificate'),
  'kafka-ssl-verify': onOff("check the brokers' certificates and host names", true),
  'kafka-sasl-mechanism': choice(['none', ...SASL_MECHANISMS] as const, 'SASL authentication', 'none'),
  'kafka-sasl-username': text('NAME', 'SASL user'),
  'kafka-sasl-password': text('SECRET', 'SASL password; set BIONER_KAFKA_SASL_PASSWORD from a Secret'),
  'client-id': text('ID', 'Kafka client id', 'bioner-stream'),
};

export function kafkaConnection(o: OptionValues<typeof KAFKA_OPTIONS>): KafkaConnection {
  const mechanism = o['kafka-sasl-mechanism'];
  return {
    brokers: o.brokers,
    clientId: o['client-id'],
    ...(o['kafka-ssl'] ? {
      tls: {
        verify: o['kafka-ssl-verify'],
        ...(o['kafka-ca-file'] ? { caFile: o['kafka-ca-file'] } : {}),
        ...(o['kafka-cert-file'] ? { certFile: o['kafka-cert-file'] } : {}),
        ...(o['kafka-key-file'] ? { keyFile: o['kafka-key-file'] } : {}),
      },
    } : {}),
    ...(mechanism !== 'none' ? {
      sasl: { mechanism, username: o['kafka-sasl-username'] ?? '', password: o['kafka-sasl-password'] ?? '' },
    } : {}),
  };
}

export const TOPIC_OPTIONS = {
  'input-topic': text('T', 'Avro Documents in', DEFAULT_TOPICS.documents),
  'entities-topic': text('T', 'EntityRecords out', DEFAULT_TOPICS.entities),
  'annotated-topic': text('T', 'AnnotatedDocuments out', DEFAULT_TOPICS.annotated),
  'dlq-topic': text('T', 'dead letters', DEFAULT_TOPICS.deadLetters),
};

export function topicNames(o: OptionValues<typeof TOPIC_OPTIONS>): Topics {
  return { documents: o['input-topic'], entities: o['entities-topic'], annotated: o['annotated-topic'], deadLetters: o['dlq-topic'] };
}

export const SCHEMA_REGISTRY_OPTIONS = {
  'schema-registry-url': text('URL', 'Confluent Schema Registry, base path included (Apicurio: …/apis/ccompat/v7); ' +
    'without it, fixed schema ids 1-3'),
  'schema-registry-user': text('NAME', 'basic auth user of the schema registry'),
  'schema-registry-password': text('SECRET', 'its password; set BIONER_SCHEMA_REGISTRY_PASSWORD from a Secret'),
  'schema-registry-token': text('TOKEN', 'bearer token of the schema registry; set BIONER_SCHEMA_REGISTRY_TOKEN from a Secret'),
  'schema-registry-timeout-ms': integer('bound on each schema registry request', 10_000),
};

/** The registry's settings, or undefined for the fixed ids. */
export function schemaRegistrySettings(o: OptionValues<typeof SCHEMA_REGISTRY_OPTIONS>): SchemaRegistrySettings | undefined {
  const url = o['schema-registry-url'];
  return url ? { url, timeoutMs: o['schema-registry-timeout-ms'], ...registryAuthorization(o) } : undefined;
}

/** Basic auth from user and password, or a bearer token; not both. */
function registryAuthorization(o: OptionValues<typeof SCHEMA_REGISTRY_OPTIONS>) {
  const user = o['schema-registry-user'];
  const token = o['schema-registry-token'];
  if (user !== undefined && token !== undefined) throw new UsageError('give --schema-registry-user or --schema-registry-token, not both');
  if (user !== undefined) {
    return { authorization: `Basic ${Buffer.from(`${user}:${o['schema-registry-password'] ?? ''}`).toString('base64')}` };
  }
  return token === undefined ? {} : { authorization: `Bearer ${token}` };
}

/** Reaches the cluster (one clear line if it cannot) and checks that `topic` is there; `flag` names it. */
export async function requireTopic(connection: KafkaConnection, topic: string, flag: string): Promise<void> {
  const topics = await reachCluster(connection);
  if (!topics.has(topic)) {
    throw new Error(`topic ${topic} does not exist on ${connection.brokers.join(',')}; create it ` +
      `(bioner-stream run --create-topics does) or pass ${flag}`);
  }
}
