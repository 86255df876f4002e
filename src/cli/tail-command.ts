// `bioner-stream tail`: an output topic as JSON lines on stdout. Entities and annotated
// documents are decoded from Avro (through the registry when one is given), one EntityRecord or
// AnnotatedDocument a line as `annotate` writes them; a dead letter shows its headers and bytes.
import { once } from 'node:events';
import { tailTopic, type TailedRecord } from '../consumers/topic-tail.js';
import { annotatedDocumentType, entityRecordType, toAnnotatedDocument, toEntityRecord } from '../domain/avro.js';
import { createSchemaRegistry, RegistryUnavailableError, type SchemaRegistry } from '../domain/schema-registry.js';
import { decodeFramed } from '../domain/wire-format.js';
import { createKafka } from '../kafka/connection.js';
import { KAFKA_OPTIONS, kafkaConnection, requireTopic, SCHEMA_REGISTRY_OPTIONS, schemaRegistrySettings, TOPIC_OPTIONS } from './kafka-options.js';
import { choice, integer, parseCommandLine, toggle } from './options.js';

const TAILED = ['entities', 'annotated', 'dlq'] as const;
type Tailed = (typeof TAILED)[number];

const OPTIONS = {
  topic: choice(TAILED, 'which output to print', { required: true }),
  'from-beginning': toggle('start at the oldest record kept, not at the records that arrive from now on'),
  max: integer('stop after N records (default: until interrupted)'),
  ...KAFKA_OPTIONS,
  'entities-topic': TOPIC_OPTIONS['entities-topic'],
  'annotated-topic': TOPIC_OPTIONS['annotated-topic'],
  'dlq-topic': TOPIC_OPTIONS['dlq-topic'],
  ...SCHEMA_REGISTRY_OPTIONS,
};

const COMMAND_LINE = {
  synopsis: 'usage: bioner-stream tail --topic entities|annotated|dlq [--from-beginning] [--max N] [options]     ' +
    '(each option also reads BIONER_<OPTION>)',
  options: OPTIONS,
  notes: 'Reads under a group of its own that never commits, so the worker\'s group is left alone; Ctrl-C stops it.',
};

/** One JSON line per record of each output. */
const RENDER: Record<Tailed, (registry: SchemaRegistry, record: TailedRecord) => Promise<unknown>> = {
  entities: async (registry, { value }) => toEntityRecord(await decodeFramed(registry, entityRecordType, value ?? Buffer.alloc(0))),
  annotated: async (registry, { value }) => toAnnotatedDocument(await decodeFramed(registry, annotatedDocumentType, value ?? Buffer.alloc(0))),
  // The bytes stay as they were (base64), so a dead letter can be replayed once its fault is fixed.
  dlq: async (_, { partition, offset, key, headers, value }) => ({
    partition, offset: Number(offset), key: key?.toString() ?? null, headers, value_base64: value?.toString('base64') ?? null,
  }),
};

export async function tailCommand(argv: string[]): Promise<void> {
  const { values: o } = parseCommandLine(argv, { ...COMMAND_LINE, env: process.env });
  const connection = kafkaConnection(o);
  const [topic, flag] = ({
    entities: [o['entities-topic'], '--entities-topic'],
    annotated: [o['annotated-topic'], '--annotated-topic'],
    dlq: [o['dlq-topic'], '--dlq-topic'],
  } as const)[o.topic];
  await requireTopic(connection, topic, flag);
  const registry = createSchemaRegistry(schemaRegistrySettings(o));
  const render = RENDER[o.topic];
  const stop = new AbortController();
  // Ctrl-C (or a pipe's reader going away, as with `| head`) ends the tail; a second Ctrl-C kills it.
  process.once('SIGINT', () => stop.abort());
  process.once('SIGTERM', () => stop.abort());
  process.stdout.on('error', () => stop.abort());
  let read = 0;
  let failure: Error | undefined;
  await tailTopic(createKafka(connection), topic, { fromBeginning: o['from-beginning'], stop: stop.signal }, async (record) => {
    try {
      const line = `${JSON.stringify(await render(registry, record))}\n`;
      if (!process.stdout.write(line)) await once(process.stdout, 'drain', { signal: stop.signal }).catch(() => undefined);
    } catch (error) {
      // Without the registry nothing decodes: stop. A record that does not decode is named and skipped.
      if (error instanceof RegistryUnavailableError) {
        failure = error;
        return stop.abort();
      }
      console.error(`bioner-stream tail: ${topic} partition ${record.partition} offset ${record.offset}: ` +
        `not a ${o.topic === 'entities' ? 'EntityRecord' : 'AnnotatedDocument'} (${(error as Error).message})`);
    }
    if (++read === o.max) stop.abort();
  });
  if (failure) throw failure;
}
