// `bioner-stream produce`: a corpus file onto the input topic, framed as the worker reads it.
import { CORPUS_FORMATS, firstDocuments } from '../corpora/index.js';
import { createSchemaRegistry } from '../domain/schema-registry.js';
import { createKafka } from '../kafka/connection.js';
import { produceDocuments } from '../producers/document-producer.js';
import { DOCUMENTS } from './common-options.js';
import { KAFKA_OPTIONS, kafkaConnection, requireTopic, SCHEMA_REGISTRY_OPTIONS, schemaRegistrySettings, TOPIC_OPTIONS } from './kafka-options.js';
import { readInputCorpus } from './corpus-input.js';
import { choice, parseCommandLine, text } from './options.js';
import { ProgressBar } from './progress.js';

const OPTIONS = {
  input: text('FILE', 'the corpus to put on the topic; - reads standard input', { required: true }),
  'input-format': choice(CORPUS_FORMATS, 'how the corpus is written', { required: true }),
  ...DOCUMENTS,
  ...KAFKA_OPTIONS,
  'input-topic': TOPIC_OPTIONS['input-topic'],
  ...SCHEMA_REGISTRY_OPTIONS,
};

const COMMAND_LINE = {
  synopsis: 'usage: bioner-stream produce --input FILE|- --input-format FORMAT [options]     (each option also reads BIONER_<OPTION>)',
  options: OPTIONS,
  notes: 'Each document is one Avro Document in the Confluent wire format, keyed by its id; with --schema-registry-url\n' +
    'the schema is registered under <topic>-value, otherwise it carries the fixed id 1.',
};

export async function produceCommand(argv: string[]): Promise<void> {
  const { values: o } = parseCommandLine(argv, { ...COMMAND_LINE, env: process.env });
  const corpus = firstDocuments(await readInputCorpus(o.input, o['input-format'], '--input'), o.documents);
  for (const warning of corpus.warnings) console.error(`warning: ${warning}`);
  const connection = kafkaConnection(o);
  const topic = o['input-topic'];
  await requireTopic(connection, topic, '--input-topic');
  const progress = new ProgressBar(corpus.documents.length, 'docs');
  const registry = createSchemaRegistry(schemaRegistrySettings(o));
  let sent = 0;
  try {
    await produceDocuments(createKafka(connection), registry, topic, corpus.documents, (count) => {
      progress.advance(count);
      sent += count;
    });
  } catch (error) {
    throw new Error(`${sent} of ${corpus.documents.length} documents acknowledged, then: ${(error as Error).message}`);
  }
  console.error(`produced ${corpus.documents.length} documents to ${topic} on ${connection.brokers.join(',')}`);
}
