"""Training tokens/s of a base model under LoRA, fp32 against bf16 autocast, on this machine.

    .cache/train-venv/bin/python tools/train/trainer/speed.py BASE [--steps 5] [--batch 8] [--length 144]

BASE is a GGUF file or a checkpoint directory, as for train.py. Each precision runs `--steps`
optimiser steps on random ids; the median step after the first is reported.
"""
import argparse
import statistics
import time

import torch
from train import LINEAR_MODULES, load_base
from peft import LoraConfig, get_peft_model

p = argparse.ArgumentParser()
p.add_argument("base")
p.add_argument("--steps", type=int, default=5)
p.add_argument("--batch", type=int, default=8)
p.add_argument("--length", type=int, default=144)
args = p.parse_args()

model = get_peft_model(load_base(args.base), LoraConfig(r=16, lora_alpha=32, target_modules=LINEAR_MODULES, task_type="CAUSAL_LM"))
optimizer = torch.optim.AdamW([q for q in model.parameters() if q.requires_grad], lr=1e-4)
ids = torch.randint(0, model.config.vocab_size, (args.batch, args.length))
for name, dtype in (("fp32", None), ("bf16", torch.bfloat16)):
    seconds = []
    for _ in range(args.steps):
        started = time.monotonic()
        with torch.autocast("cpu", dtype=dtype, enabled=dtype is not None):
            loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        seconds.append(time.monotonic() - started)
    step = statistics.median(seconds[1:])
    print(f"{name}: {args.batch * args.length / step:,.0f} tokens/s (median step {step:.2f} s, {torch.get_num_threads()} threads)", flush=True)
