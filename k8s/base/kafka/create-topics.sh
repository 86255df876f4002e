#!/bin/bash
# Job create-topics-job.yaml: creates the pipeline's topics if missing and (re)applies their
# retention, with the connection settings the workers use (bioner-worker-env and the optional
# bioner-kafka-credentials Secret). Safe to run again. Retention mirrors ensureTopics() in
# src/kafka/topics.ts: 7 days, dead letters 30 days, since someone has to look at them.
set -euo pipefail

DAY_MS=86400000
config=/tmp/client.properties

# kafkajs's settings, in the Java client's words.
protocol=PLAINTEXT
[ "${BIONER_KAFKA_SSL:-off}" = on ] && protocol=SSL
: > "$config"
if [ -n "${BIONER_KAFKA_SASL_MECHANISM:-}" ]; then
  protocol="SASL_${protocol}"
  mechanism=$(echo "$BIONER_KAFKA_SASL_MECHANISM" | tr '[:lower:]' '[:upper:]')
  case "$mechanism" in
    PLAIN) module=org.apache.kafka.common.security.plain.PlainLoginModule ;;
    SCRAM-SHA-256 | SCRAM-SHA-512) module=org.apache.kafka.common.security.scram.ScramLoginModule ;;
    *) echo "create-topics: unsupported BIONER_KAFKA_SASL_MECHANISM $BIONER_KAFKA_SASL_MECHANISM" >&2; exit 1 ;;
  esac
  {
    echo "sasl.mechanism=$mechanism"
    echo "sasl.jaas.config=$module required username=\"$BIONER_KAFKA_SASL_USERNAME\" password=\"$BIONER_KAFKA_SASL_PASSWORD\";"
  } >> "$config"
fi
echo "security.protocol=$protocol" >> "$config"

kafka() { "/opt/kafka/bin/$1" --bootstrap-server "$BIONER_BROKERS" --command-config "$config" "${@:2}"; }

topic() { # name partitions retention-days
  kafka kafka-topics.sh --create --if-not-exists --topic "$1" --partitions "$2" \
    --replication-factor "$REPLICATION_FACTOR" --config "min.insync.replicas=$MIN_INSYNC_REPLICAS"
  # --if-not-exists leaves an existing topic's config alone: set what must hold every time.
  kafka kafka-configs.sh --alter --entity-type topics --entity-name "$1" \
    --add-config "retention.ms=$(($3 * DAY_MS)),min.insync.replicas=$MIN_INSYNC_REPLICAS"
}

topic bioner.documents.v1 "$DOCUMENTS_PARTITIONS" 7
topic bioner.entities.v1 "$OUTPUT_PARTITIONS" 7
topic bioner.annotated-documents.v1 "$OUTPUT_PARTITIONS" 7
topic bioner.documents.dlq.v1 "$DLQ_PARTITIONS" 30

kafka kafka-topics.sh --describe --topic 'bioner\..*'
