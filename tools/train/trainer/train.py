"""Instruction-tunes a causal LM on tokenised conv_term conversations.

Input is what `bioner-stream train` writes: train.jsonl and devel.jsonl, one conversation per
line as token ids with the spans of its assistant turns. The ids come from the project's own
prompt code, so nothing here renders or tokenises prompts; the loss is taken on the answer
tokens and their end-of-turn token only.

Output (--out): `checkpoint/` (the latest state, for resuming after a kill), `best/` (the
adapter, or the full model, with the best devel micro-F1: PEFT's adapter_config.json +
adapter_model.safetensors), and `curve.jsonl` (devel F1 against tokens trained).
"""

import argparse
import json
import math
import os
import random
import shutil
import sys
import time
from pathlib import Path

import torch
from peft import LoraConfig, PeftModel, get_peft_model
from tokenizers import Tokenizer
from transformers import AutoModelForCausalLM, get_linear_schedule_with_warmup

LINEAR_MODULES = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
IGNORE = -100


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="folder with train.jsonl and devel.jsonl")
    p.add_argument("--base", required=True, help="a GGUF file or a Hugging Face checkpoint directory")
    p.add_argument("--tokenizer", required=True, help="tokenizer.json of the model the engine runs (decodes devel answers)")
    p.add_argument("--stop-ids", required=True, help="comma-separated end-of-turn token ids")
    p.add_argument("--out", required=True)
    p.add_argument("--base-info", default="{}", help="JSON identifying the base, written next to the adapter")
    p.add_argument("--method", choices=["lora", "full"], default="lora")
    p.add_argument("--lora-r", type=int, default=16)
    p.add_argument("--lora-alpha", type=int, default=32)
    p.add_argument("--lora-dropout", type=float, default=0.05)
    p.add_argument("--learning-rate", type=float, default=5e-4)
    p.add_argument("--epochs", type=float, default=1.0)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--warmup-ratio", type=float, default=0.03)
    p.add_argument("--evals-per-epoch", type=int, default=4)
    p.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (0: the epochs decide)")
    p.add_argument("--max-new-tokens", type=int, default=64)
    p.add_argument("--precision", choices=["auto", "fp32", "bf16"], default="auto")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: all cores)")
    p.add_argument("--checkpoint-seconds", type=float, default=300)
    p.add_argument("--checkpoint-steps", type=int, default=0, help="also checkpoint every N steps (0: by time only)")
    p.add_argument("--seed", type=int, default=13)
    return p.parse_args(argv)


def load_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def device_and_precision(choice):
    if torch.cuda.is_available():
        return torch.device("cuda"), (torch.bfloat16 if choice != "fp32" and torch.cuda.is_bf16_supported() else None)
    if choice == "fp32":
        return torch.device("cpu"), None
    # bf16 autocast pays off only with AMX (1.6x fp32); with AVX512-BF16 alone it ran 4x slower than fp32 here.
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    return torch.device("cpu"), (torch.bfloat16 if choice == "bf16" or "amx_bf16" in flags else None)


def load_base(base):
    path = Path(base)
    if path.is_file():  # GGUF: transformers dequantises it and un-permutes q/k, as the project's importer does
        return AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, dtype=torch.float32)
    return AutoModelForCausalLM.from_pretrained(str(path), dtype=torch.float32)


def with_method(model, args):
    if args.method == "full":
        return model
    config = LoraConfig(r=args.lora_r, lora_alpha=args.lora_alpha, lora_dropout=args.lora_dropout,
                        target_modules=LINEAR_MODULES, task_type="CAUSAL_LM")
    return get_peft_model(model, config)


def batches_for_epoch(examples, batch_size, seed, epoch):
    """Length-grouped batches in a shuffled order that depends only on (seed, epoch), so a resumed run replays it."""
    rng = random.Random(seed * 1000 + epoch)
    order = list(range(len(examples)))
    rng.shuffle(order)
    pool = batch_size * 32
    batches = []
    for i in range(0, len(order), pool):
        chunk = sorted(order[i:i + pool], key=lambda k: len(examples[k]["ids"]))
        batches += [chunk[j:j + batch_size] for j in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def collate(examples, indices, pad_id):
    rows = [examples[i] for i in indices]
    width = max(len(r["ids"]) for r in rows)
    input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    labels = torch.full((len(rows), width), IGNORE, dtype=torch.long)
    attention = torch.zeros((len(rows), width), dtype=torch.long)
    for k, row in enumerate(rows):
        ids = torch.tensor(row["ids"], dtype=torch.long)
        input_ids[k, :len(ids)] = ids
        attention[k, :len(ids)] = 1
        for start, end in row["answer_spans"]:
            labels[k, start:end] = ids[start:end]
    return input_ids, attention, labels


def answer_loss(model, input_ids, attention, labels):
    """Cross-entropy on the answer tokens, with the LM head applied only where a label is read.

    The head is a 576 x 49k matrix for SmolLM2: over every position it is a fifth of the
    forward pass and most of the activation memory, and answers are a tenth of the tokens.
    """
    causal = model.get_base_model() if isinstance(model, PeftModel) else model
    hidden = causal.model(input_ids=input_ids, attention_mask=attention).last_hidden_state
    targets = labels[:, 1:]
    read = targets != IGNORE
    logits = causal.lm_head(hidden[:, :-1][read])
    return torch.nn.functional.cross_entropy(logits.float(), targets[read])


def autocast(device, dtype):
    return torch.autocast(device.type, dtype=dtype) if dtype is not None else torch.autocast(device.type, enabled=False)


def answer_strings(text):
    """The strings of an `Answer: [...]` list; tolerant of what a model gets wrong, like decode-answer.ts."""
    start = text.find("[")
    if start < 0:
        return set()
    end = text.rfind("]")
    try:
        values = json.loads(text[start:end + 1] if end > start else text[start:] + "]")
        return {v.strip() for v in values if isinstance(v, str) and v.strip()}
    except (json.JSONDecodeError, TypeError):
        return set()


@torch.no_grad()
def evaluate(model, devel, tokenizer, stop_ids, pad_id, device, dtype, max_new_tokens, batch_size=16):
    """Micro P/R/F1 of exact answer strings per (sentence, type), overall and per corpus.

    Each turn is generated greedily after the gold earlier turns (teacher-forced history), so
    every turn of every conversation can be batched; `bioner-stream eval` scores the pipeline.
    """
    model.eval()
    turns = [(ex, t) for ex in devel for t in range(len(ex["answer_spans"]))]
    counts = {}
    for i in range(0, len(turns), batch_size):
        chunk = turns[i:i + batch_size]
        prompts = [ex["ids"][:ex["answer_spans"][t][0]] for ex, t in chunk]
        width = max(len(p) for p in prompts)
        ids = torch.tensor([[pad_id] * (width - len(p)) + p for p in prompts], device=device)  # left-padded
        mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts], device=device)
        with autocast(device, dtype):
            out = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=max_new_tokens, do_sample=False,
                                 eos_token_id=stop_ids, pad_token_id=pad_id)
        for (ex, t), row in zip(chunk, out[:, width:].tolist()):
            cut = next((k for k, tok in enumerate(row) if tok in stop_ids), len(row))
            predicted = answer_strings(tokenizer.decode(row[:cut], skip_special_tokens=True))
            gold = {g.strip() for g in ex["gold"][t]}
            for key in ("all", ex["corpus"]):
                c = counts.setdefault(key, [0, 0, 0])
                c[0] += len(predicted & gold)
                c[1] += len(predicted - gold)
                c[2] += len(gold - predicted)
    model.train()
    return {key: f1(*c) for key, c in counts.items()}


def f1(tp, fp, fn):
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0, "tp": tp, "fp": fp, "fn": fn}


def save_model(model, directory, args, extra):
    """The adapter (PEFT format) or the full model, written beside then renamed, so a kill never leaves half a directory."""
    tmp = Path(f"{directory}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(str(tmp), safe_serialization=True)
    if args.method == "full":  # a checkpoint directory the importer reads needs its tokenizer files
        for name in ("tokenizer.json", "tokenizer_config.json"):
            shutil.copy(Path(args.tokenizer).parent / name, tmp / name)
    (tmp / "bioner_base.json").write_text(args.base_info + "\n")
    (tmp / "training_state.json").write_text(json.dumps(extra, indent=2) + "\n")
    shutil.rmtree(directory, ignore_errors=True)
    os.replace(tmp, directory)


def save_checkpoint(out, model, optimizer, scheduler, state):
    tmp = out / "checkpoint.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    trainable = {k: v for k, v in model.state_dict().items() if k in state["trainable"]}
    torch.save({"model": trainable, "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                "torch_rng": torch.get_rng_state()}, tmp / "state.pt")
    (tmp / "progress.json").write_text(json.dumps({k: v for k, v in state.items() if k != "trainable"}) + "\n")
    # Swapped in by renames: a kill at any point leaves `checkpoint` or `checkpoint.old` whole.
    old = out / "checkpoint.old"
    shutil.rmtree(old, ignore_errors=True)
    if (out / "checkpoint").exists():
        os.replace(out / "checkpoint", old)
    os.replace(tmp, out / "checkpoint")
    shutil.rmtree(old, ignore_errors=True)


def latest_checkpoint(out):
    for name in ("checkpoint", "checkpoint.old"):
        if (out / name / "progress.json").exists():
            return out / name
    return None


class Progress:
    """One line: step, loss, tokens/s and ETA; redrawn in place on a terminal, every 20 steps otherwise."""

    def __init__(self, total):
        self.total, self.tty = total, sys.stderr.isatty()
        self.started, self.steps, self.tokens, self.paused = time.monotonic(), 0, 0, 0.0

    def update(self, step, loss, tokens):
        """Rates count training time only, not evaluations (see `pause`)."""
        self.steps += 1
        self.tokens += tokens
        elapsed = time.monotonic() - self.started - self.paused
        rate = self.tokens / elapsed if elapsed > 0 else 0.0
        eta = (self.total - step) * elapsed / self.steps if self.steps else float("nan")
        done = int(30 * step / self.total)
        line = (f"[{'#' * done}{'.' * (30 - done)}] step {step}/{self.total} loss {loss:.4f} "
                f"{rate:,.0f} tokens/s ETA {eta / 60:.1f} min")
        if self.tty:
            print(f"\r{line}", end="", file=sys.stderr, flush=True)
        elif step % 20 == 0 or step == self.total:
            print(line, file=sys.stderr, flush=True)

    def pause(self, seconds):
        self.paused += seconds


def main(argv):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    device, dtype = device_and_precision(args.precision)
    train = load_jsonl(Path(args.data) / "train.jsonl")
    devel = load_jsonl(Path(args.data) / "devel.jsonl")
    tokenizer = Tokenizer.from_file(args.tokenizer)
    stop_ids = [int(s) for s in args.stop_ids.split(",")]
    pad_id = stop_ids[0]

    model = with_method(load_base(args.base), args).to(device)
    model.train()
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=args.learning_rate, weight_decay=0.0)
    steps_per_epoch = math.ceil(len(train) / args.batch_size)
    total = math.ceil(steps_per_epoch * args.epochs)
    if args.max_steps:
        total = min(total, args.max_steps)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(args.warmup_ratio * total), total)
    eval_every = max(1, steps_per_epoch // max(1, args.evals_per_epoch))

    state = {"step": 0, "tokens": 0, "best_f1": -1.0, "curve": [], "losses": [], "trainable": set(trainable)}
    resumed = latest_checkpoint(out)
    if resumed:
        saved = torch.load(resumed / "state.pt", weights_only=False)
        model.load_state_dict(saved["model"], strict=False)
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        torch.set_rng_state(saved["torch_rng"])
        state.update(json.loads((resumed / "progress.json").read_text()))
        print(f"resumed from step {state['step']} ({state['tokens']:,} tokens trained)", file=sys.stderr, flush=True)

    precision = "bf16 autocast" if dtype is not None else "fp32"
    trainable_count = sum(p.numel() for p in model.parameters() if p.requires_grad)
    print(f"training {args.method} on {device} ({precision}, {torch.get_num_threads()} threads): {len(train)} conversations, "
          f"{total} steps of {args.batch_size}, {trainable_count:,} trainable parameters", file=sys.stderr, flush=True)
    progress = Progress(total)
    last_checkpoint = time.monotonic()
    record = lambda: (out / "curve.jsonl").write_text("".join(json.dumps(c) + "\n" for c in state["curve"]))

    while state["step"] < total:
        epoch, offset = divmod(state["step"], steps_per_epoch)
        for indices in batches_for_epoch(train, args.batch_size, args.seed, epoch)[offset:]:
            input_ids, attention, labels = (t.to(device) for t in collate(train, indices, pad_id))
            with autocast(device, dtype):
                loss = answer_loss(model, input_ids, attention, labels)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            state["step"] += 1
            tokens = int(attention.sum())
            state["tokens"] += tokens
            progress.update(state["step"], loss.item(), tokens)
            state["losses"].append(round(loss.item(), 5))

            if state["step"] % eval_every == 0 or state["step"] == total:
                started = time.monotonic()
                scores = evaluate(model, devel, tokenizer, stop_ids, pad_id, device, dtype, args.max_new_tokens)
                progress.pause(time.monotonic() - started)
                point = {"step": state["step"], "tokens": state["tokens"], "epoch": state["step"] / steps_per_epoch,
                         "tokens_per_s": round(progress.tokens / max(1e-9, time.monotonic() - progress.started - progress.paused)),
                         "eval_seconds": round(time.monotonic() - started, 1), "devel": scores}
                state["curve"].append(point)
                record()
                summary = " ".join(f"{k} {v['f1']:.3f}" for k, v in scores.items())
                print(f"\nstep {state['step']}: devel micro-F1 {summary}", file=sys.stderr, flush=True)
                if scores["all"]["f1"] > state["best_f1"]:
                    state["best_f1"] = scores["all"]["f1"]
                    save_model(model, out / "best", args, point)
            due = args.checkpoint_steps and state["step"] % args.checkpoint_steps == 0
            if due or time.monotonic() - last_checkpoint > args.checkpoint_seconds or state["step"] == total:
                save_checkpoint(out, model, optimizer, scheduler, state)
                last_checkpoint = time.monotonic()
            if state["step"] >= total:
                break
    record()
    print(f"\ndone: {state['tokens']:,} tokens in {state['step']} steps; best devel micro-F1 {state['best_f1']:.3f} → {out / 'best'}",
          file=sys.stderr, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
