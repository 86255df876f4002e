#!/usr/bin/env bash
# The campaign's selection score: strict F1 through annotate + eval on about 100 devel sentences
# per recipe corpus (10 abstracts of the PubTator corpora, 100 sentences of the IOB ones).
#   bash scripts/pipeline-devel.sh NAME [MODEL_DIR]    (default: the shipped default model)
# writes .cache/devel-NAME-CORPUS.json per corpus and prints each corpus's overall line.
set -euo pipefail
cd "$(dirname "$0")/.."
name=$1; model=${2:+--model $2}
for spec in NCBI-disease:10 BC5CDR:10 JNLPBA:100 AnatEM:100 BC2GM:100 LINNAEUS:100; do
  corpus=${spec%%:*}; documents=${spec##*:}
  node bin/bioner-stream.js evaluate-model --split devel --corpus "$corpus" --documents "$documents" $model \
    --out ".cache/devel-$name-$corpus.json" | grep overall
done
