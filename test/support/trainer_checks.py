"""Checks of the trainer's parts that test/training.test.ts runs and reads back as JSON.

    python trainer_checks.py shared-prefix DATA BASE       loss and LoRA gradients: shared prefix vs a plain padded forward
    python trainer_checks.py precision                     what `--precision auto` picks for given timings
    python trainer_checks.py greedy DATA BASE              devel answers, batched with the shared prefix fed once, vs generate() one by one
    python trainer_checks.py adapter-loss DATA BASE ADAPTER SEED
                                                           the adapter's loss on the first batch a run continuing it trains
"""

import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "train" / "trainer"))
from batches import answer_loss, batches_for_epoch, collate, padded_answer_loss  # noqa: E402
from peft import LoraConfig, PeftModel, get_peft_model  # noqa: E402
from devel_eval import greedy_answers  # noqa: E402
from precision import choose_precision  # noqa: E402
from train import LINEAR_MODULES, load_base, load_jsonl  # noqa: E402

PAD = 151645


def gradients(model, loss):
    model.zero_grad()
    loss.backward()
    return {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad}


def shared_prefix(data, base):
    torch.manual_seed(0)
    model = get_peft_model(load_base(base).double(), LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules=LINEAR_MODULES,
                                                       init_lora_weights=False))  # random B too, so gradients reach A
    examples = load_jsonl(Path(data) / "train.jsonl")
    indices = batches_for_epoch(examples, 4, 1, 0)[0]
    batch = collate(examples, indices, PAD)
    shared = answer_loss(model, batch)
    shared_grads = gradients(model, shared)
    padded = padded_answer_loss(model, examples, indices, PAD)
    padded_grads = gradients(model, padded)
    return {"rows": len(indices), "prefix": batch.prefix.shape[1], "loss": shared.item(), "loss_difference": abs(shared.item() - padded.item()),
            "gradient_difference": max((shared_grads[n] - padded_grads[n]).abs().max().item() for n in shared_grads),
            "gradient_scale": max(g.abs().max().item() for g in padded_grads.values())}


def precision():
    cpu = torch.device("cpu")
    pick = lambda rates: choose_precision("auto", cpu, 64, 128, lambda line: None, measure=lambda h, i: rates)[1]
    return {"bf16_faster": pick({"fp32": 100.0, "bf16": 180.0}), "fp32_faster": pick({"fp32": 150.0, "bf16": 9.0}),
            "tie": pick({"fp32": 100.0, "bf16": 100.0})}


def greedy(data, base):
    torch.manual_seed(0)
    model = get_peft_model(load_base(base), LoraConfig(r=4, lora_alpha=8, target_modules=LINEAR_MODULES, init_lora_weights=False))
    model.eval()
    examples = load_jsonl(Path(data) / "devel.jsonl")
    prompts = [ex["ids"][:start] for ex in examples for start, _ in ex["answer_spans"]]
    batched = greedy_answers(model, prompts, [PAD], 12, PAD)
    alone = []
    for prompt in prompts:
        out = model.generate(input_ids=torch.tensor([prompt]), max_new_tokens=12, do_sample=False, eos_token_id=[PAD],
                             pad_token_id=PAD)[0, len(prompt):].tolist()
        alone.append(out[:out.index(PAD)] if PAD in out else out)
    return {"prompts": len(prompts), "lengths": sorted({len(p) for p in prompts}), "same": sum(a == b for a, b in zip(batched, alone)),
            "tokens": sum(len(a) for a in alone)}


def adapter_loss(data, base, adapter, seed):
    model = PeftModel.from_pretrained(load_base(base), adapter)
    examples = load_jsonl(Path(data) / "train.jsonl")
    with torch.no_grad():
        return {"loss": answer_loss(model, collate(examples, batches_for_epoch(examples, 8, int(seed), 0)[0], PAD)).item()}


if __name__ == "__main__":
    command, *rest = sys.argv[1:]
    checks = {"shared-prefix": shared_prefix, "precision": precision, "greedy": greedy, "adapter-loss": adapter_loss}
    print(json.dumps(checks[command](*rest)))
