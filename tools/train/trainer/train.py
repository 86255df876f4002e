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
import platform
import shutil
import sys
import time
from pathlib import Path

import torch
from peft import LoraConfig, PeftModel, get_peft_model
from tokenizers import Tokenizer
from transformers import AutoModelForCausalLM, get_linear_schedule_with_warmup

from batches import answer_loss, batches_for_epoch, collate
from devel_eval import evaluate
from precision import choose_precision

PROJECT = Path(__file__).resolve().parents[3]

LINEAR_MODULES = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="folder with train.jsonl and devel.jsonl")
    p.add_argument("--base", required=True, help="a GGUF file or a Hugging Face checkpoint directory")
    p.add_argument("--tokenizer", required=True, help="tokenizer.json of the model the engine runs (decodes devel answers)")
    p.add_argument("--stop-ids", required=True, help="comma-separated end-of-turn token ids")
    p.add_argument("--out", required=True)
    p.add_argument("--base-info", default="{}", help="JSON identifying the base, written next to the adapter")
    p.add_argument("--method", choices=["lora", "full"], default="lora")
    p.add_argument("--init-adapter", help="continue from this adapter's weights (PEFT format), with a fresh schedule")
    p.add_argument("--lora-r", type=int, default=16)
    p.add_argument("--lora-alpha", type=int, default=32)
    p.add_argument("--lora-dropout", type=float, default=0.05)
    p.add_argument("--learning-rate", type=float, default=5e-4)
    p.add_argument("--epochs", type=float, default=1.0)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--warmup-ratio", type=float, default=0.03)
    p.add_argument("--evals-per-run", type=int, default=4,
                   help="devel evaluations spread over the run, the last at its end; 0: none, the last weights are kept")
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


def load_base(base):
    path = Path(base)
    if path.is_file():  # GGUF: transformers dequantises it and un-permutes q/k, as the project's importer does
        return AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, dtype=torch.float32)
    return AutoModelForCausalLM.from_pretrained(str(path), dtype=torch.float32)


def with_method(model, args):
    if args.method == "full":
        return model
    if args.init_adapter:  # the adapter's own rank, alpha and modules; training goes on from its weights
        return PeftModel.from_pretrained(model, args.init_adapter, is_trainable=True)
    config = LoraConfig(r=args.lora_r, lora_alpha=args.lora_alpha, lora_dropout=args.lora_dropout,
                        target_modules=LINEAR_MODULES, task_type="CAUSAL_LM")
    return get_peft_model(model, config)


def autocast(device, dtype):
    return torch.autocast(device.type, dtype=dtype) if dtype is not None else torch.autocast(device.type, enabled=False)


def save_model(model, directory, args, record):
    """The adapter (PEFT format) or the full model, written beside then renamed, so a kill never leaves half a directory."""
    tmp = Path(f"{directory}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(str(tmp), safe_serialization=True)
    if args.method == "full":  # a checkpoint directory the importer reads needs its tokenizer files
        for name in ("tokenizer.json", "tokenizer_config.json"):
            shutil.copy(Path(args.tokenizer).parent / name, tmp / name)
    (tmp / "bioner_base.json").write_text(args.base_info + "\n")
    (tmp / "training_state.json").write_text(json.dumps(record, indent=2) + "\n")
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


def cpu_name():
    """The CPU model with its family and model numbers: "AMD EPYC" alone names several generations."""
    fields = {}
    if Path("/proc/cpuinfo").exists():
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
    name = fields.get("model name", platform.processor() or "unknown CPU")
    return f"{name} (family {fields['cpu family']}, model {fields['model']})" if "cpu family" in fields else name


def history_of(adapter):
    """What an adapter's earlier runs trained: tokens, runs and learning curve (from its training_state.json)."""
    path = Path(adapter) / "training_state.json" if adapter else None
    if not path or not path.exists():
        return {"tokens_total": 0, "runs": [], "curve": []}
    saved = json.loads(path.read_text())
    return {key: saved[key] for key in ("tokens_total", "runs", "curve")}


def same_run(checkpoint, history):
    """Whether the checkpoint continues from the same weights: its run began where `history` ends."""
    saved = json.loads((checkpoint / "progress.json").read_text())["history"]
    return (saved["tokens_total"], len(saved["runs"])) == (history["tokens_total"], len(history["runs"]))


def recorded_path(path):
    """A path as training_state.json keeps it: project-relative when inside the project, so a shipped state names no checkout."""
    resolved = Path(path).resolve()
    return str(resolved.relative_to(PROJECT)) if resolved.is_relative_to(PROJECT) else str(resolved)


def training_record(state, args):
    """training_state.json of the kept adapter: the tokens in its weights, every run so far and the whole curve."""
    history, kept = state["history"], state["kept"]
    run = {"init_adapter": args.init_adapter and recorded_path(args.init_adapter), "method": args.method, "steps": state["step"], "tokens": state["tokens"],
           "kept_step": kept["step"], "batch_size": args.batch_size, "learning_rate": args.learning_rate,
           "epochs": args.epochs, "segments": state["segments"]}
    return {"tokens_total": kept["tokens_total"], "kept": kept, "runs": history["runs"] + [run],
            "curve": history["curve"] + state["curve"]}


def main(argv):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    log = lambda line: print(line, file=sys.stderr, flush=True)
    train = load_jsonl(Path(args.data) / "train.jsonl")
    devel = load_jsonl(Path(args.data) / "devel.jsonl")
    tokenizer = Tokenizer.from_file(args.tokenizer)
    stop_ids = [int(s) for s in args.stop_ids.split(",")]
    pad_id = stop_ids[0]

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    base = load_base(args.base)
    dtype, precision = choose_precision(args.precision, device, base.config.hidden_size, base.config.intermediate_size, log)
    model = with_method(base, args).to(device)
    model.train()
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=args.learning_rate, weight_decay=0.0)
    steps_per_epoch = math.ceil(len(train) / args.batch_size)
    total = math.ceil(steps_per_epoch * args.epochs)
    if args.max_steps:
        total = min(total, args.max_steps)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(args.warmup_ratio * total), total)
    eval_every = max(1, math.ceil(total / max(1, args.evals_per_run)))

    state = {"step": 0, "tokens": 0, "best_f1": -1.0, "kept": None, "curve": [], "losses": [], "segments": [],
             "history": history_of(args.init_adapter), "trainable": set(trainable)}
    resumed = latest_checkpoint(out)
    if resumed and not same_run(resumed, state["history"]):
        # A checkpoint of a run from other weights (an earlier run, since kept and shipped) is not this run's.
        log(f"{resumed} belongs to a run from other weights: starting a new run")
        resumed = None
    if resumed:
        saved = torch.load(resumed / "state.pt", weights_only=False)
        model.load_state_dict(saved["model"], strict=False)
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        torch.set_rng_state(saved["torch_rng"])
        state.update(json.loads((resumed / "progress.json").read_text()))
        log(f"resumed from step {state['step']} ({state['tokens']:,} tokens trained)")
    # One segment per process: a resumed run may land on another machine, whose speed is its own.
    segment = {"cpu": cpu_name(), "device": device.type, "precision": precision, "threads": torch.get_num_threads(),
               "from_step": state["step"], "to_step": state["step"], "tokens": 0, "train_seconds": 0.0, "eval_seconds": 0.0}
    state["segments"].append(segment)

    trainable_count = sum(p.numel() for p in model.parameters() if p.requires_grad)
    log(f"training {args.method} on {device} ({precision}, {torch.get_num_threads()} threads, {segment['cpu']}): "
        f"{len(train)} conversations, {total} steps of {args.batch_size}, {trainable_count:,} trainable parameters"
        + (f", from {args.init_adapter} ({state['history']['tokens_total']:,} tokens trained before)" if args.init_adapter else ""))
    # A run continuing an adapter draws its own order, so it does not retrain what the last run began with.
    order_seed = args.seed + len(state["history"]["runs"])
    progress = Progress(total)
    last_checkpoint = time.monotonic()
    record = lambda: (out / "curve.jsonl").write_text(
        "".join(json.dumps(c) + "\n" for c in state["history"]["curve"] + state["curve"]))

    def curve_point(**scored):
        return {"run": len(state["history"]["runs"]) + 1, "step": state["step"], "tokens": state["tokens"],
                "tokens_total": state["history"]["tokens_total"] + state["tokens"], "epoch": state["step"] / steps_per_epoch,
                "tokens_per_s": round(segment["tokens"] / max(1e-9, segment["train_seconds"])), **scored}

    def evaluate_and_keep():
        started = time.monotonic()
        scores = evaluate(model, devel, tokenizer, stop_ids, pad_id, lambda: autocast(device, dtype), args.max_new_tokens)
        seconds = time.monotonic() - started
        progress.pause(seconds)
        segment["eval_seconds"] += seconds
        point = curve_point(eval_seconds=round(seconds, 1), devel_conversations=len(devel), devel=scores)
        state["curve"].append(point)
        record()
        log(f"\nstep {state['step']}: devel micro-F1 " + " ".join(f"{k} {v['f1']:.3f}" for k, v in scores.items()))
        if scores["all"]["f1"] > state["best_f1"]:
            state["best_f1"], state["kept"] = scores["all"]["f1"], point
            save_model(model, out / "best", args, training_record(state, args))
        else:  # the kept adapter's record still gains this point of the curve
            (out / "best" / "training_state.json").write_text(json.dumps(training_record(state, args), indent=2) + "\n")

    if args.evals_per_run and args.init_adapter and not state["curve"]:  # where the adapter starts, on this run's devel sample
        evaluate_and_keep()
    while state["step"] < total:
        epoch, offset = divmod(state["step"], steps_per_epoch)
        for indices in batches_for_epoch(train, args.batch_size, order_seed, epoch)[offset:]:
            started = time.monotonic()
            batch = collate(train, indices, pad_id).to(device)
            with autocast(device, dtype):
                loss = answer_loss(model, batch)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            state["step"] += 1
            state["tokens"] += batch.tokens
            segment.update(to_step=state["step"], tokens=segment["tokens"] + batch.tokens,
                           train_seconds=segment["train_seconds"] + time.monotonic() - started)
            progress.update(state["step"], loss.item(), batch.tokens)
            state["losses"].append(round(loss.item(), 5))

            if args.evals_per_run and (state["step"] % eval_every == 0 or state["step"] == total):
                evaluate_and_keep()
            due = args.checkpoint_steps and state["step"] % args.checkpoint_steps == 0
            if due or time.monotonic() - last_checkpoint > args.checkpoint_seconds or state["step"] == total:
                save_checkpoint(out, model, optimizer, scheduler, state)
                last_checkpoint = time.monotonic()
            if state["step"] >= total:
                break
    if not args.evals_per_run:  # nothing to select on: the last weights are kept, to be scored through the pipeline
        state["kept"] = curve_point()
        save_model(model, out / "best", args, training_record(state, args))
    record()
    log(f"\ndone: {state['tokens']:,} tokens in {state['step']} steps; best devel micro-F1 {state['best_f1']:.3f} → {out / 'best'}")


if __name__ == "__main__":
    main(sys.argv[1:])
