#!/usr/bin/env bash
# The campaign's selection score: strict F1 through annotate + eval on about 100 devel sentences
# per recipe corpus (10 abstracts of the PubTator corpora, 100 sentences of the IOB ones).
#   bash scripts/pipeline-devel.sh NAME [MODEL_DIR]    (default: the shipped default model)
# writes .cache/devel-NAME-CORPUS.json per corpus and prints each corpus's overall line. Beside the
# score, not in it: 200 BC5CDR devel sentences as tokenised text, the form its IOB test split is
# read in (.cache/iob-devel-NAME-BC5CDR.json), and JNLPBA's whole selection fold, whose 100-sentence
# sample alone cannot tell runs 0.04 apart (.cache/fold-devel-NAME-JNLPBA.json).
set -euo pipefail
cd "$(dirname "$0")/.."
name=$1; model=${2:+--model $2}
for spec in NCBI-disease:10 BC5CDR:10 JNLPBA:100 AnatEM:100 BC2GM:100 LINNAEUS:100; do
  corpus=${spec%%:*}; documents=${spec##*:}
  node bin/bioner-stream.js evaluate-model --split devel --corpus "$corpus" --documents "$documents" $model \
    --out ".cache/devel-$name-$corpus.json" | grep overall
done
node bin/bioner-stream.js evaluate-model --recipe scripts/bc5cdr-iob-devel.json --split devel --documents 200 $model \
  --out ".cache/iob-devel-$name-BC5CDR.json" | grep overall
node bin/bioner-stream.js evaluate-model --split devel --corpus JNLPBA --documents 0 $model \
  --out ".cache/fold-devel-$name-JNLPBA.json" | grep overall
