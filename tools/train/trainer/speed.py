"""Training step time on this machine: shared-prefix batches against padded ones, fp32 and bf16 autocast.

    .cache/train-venv/bin/python tools/train/trainer/speed.py BASE DATA [--steps 6] [--batch 8]

BASE is a GGUF file or a checkpoint directory, as for train.py; DATA the folder with train.jsonl
that `bioner-stream train` wrote. The same real batches (one corpus each) run in every setting,
the settings taking turns step by step so a busy machine slows them alike; the median step is
reported with tokens/s and the ratio to the padded fp32 step.
"""
import argparse
import statistics
import time
from pathlib import Path

import torch
from batches import answer_loss, batches_for_epoch, collate, padded_answer_loss
from peft import LoraConfig, get_peft_model
from train import LINEAR_MODULES, load_base, load_jsonl

p = argparse.ArgumentParser()
p.add_argument("base")
p.add_argument("data")
p.add_argument("--steps", type=int, default=6)
p.add_argument("--batch", type=int, default=8)
p.add_argument("--precisions", default="fp32,bf16")
args = p.parse_args()

model = get_peft_model(load_base(args.base), LoraConfig(r=16, lora_alpha=32, target_modules=LINEAR_MODULES, task_type="CAUSAL_LM"))
optimizer = torch.optim.AdamW([q for q in model.parameters() if q.requires_grad], lr=1e-4)
examples = load_jsonl(Path(args.data) / "train.jsonl")
batches = batches_for_epoch(examples, args.batch, 1, 0)[:args.steps + 1]
pad = 2
losses = {"padded": lambda b: padded_answer_loss(model, examples, b, pad), "shared prefix": lambda b: answer_loss(model, collate(examples, b, pad))}
settings = [(layout, precision) for precision in args.precisions.split(",") for layout in losses]
seconds = {s: [] for s in settings}
for indices in batches:
    for layout, precision in settings:
        started = time.monotonic()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            loss = losses[layout](indices)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        seconds[(layout, precision)].append(time.monotonic() - started)
tokens = statistics.mean(sum(len(examples[i]["ids"]) for i in b) for b in batches[1:])
reference = statistics.median(seconds[("padded", "fp32")][1:]) if ("padded", "fp32") in seconds else None
for (layout, precision), times in seconds.items():
    step = statistics.median(times[1:])  # the first is warm-up
    ratio = f", {reference / step:.2f}x padded fp32" if reference else ""
    print(f"{layout:13} {precision}: median step {step:.2f} s, {tokens / step:,.0f} tokens/s{ratio} "
          f"({torch.get_num_threads()} threads, batch {args.batch}, {len(times) - 1} steps)", flush=True)
