"""Devel micro-F1 of exact answer strings per (sentence, type), overall and per corpus.

Each turn is answered greedily after the gold earlier turns (teacher-forced history), so every
turn of every conversation can be batched; `bioner-stream eval` scores the whole pipeline. The
prompts of a batch share their system prompt and instruction, which is fed once, as in training:
on a CPU most of an evaluation is feeding prompts.
"""

import json

import torch
from batches import causal_lm, common_prefix_length


@torch.no_grad()
def greedy_answers(model, prompts, stop_ids, max_new_tokens, pad_id):
    """Each prompt's greedy continuation up to its first stop token, the prompts' common beginning fed once."""
    causal = causal_lm(model)
    tensor = lambda rows: torch.tensor(rows, device=causal.device)
    shared = min(common_prefix_length(prompts), min(len(p) for p in prompts) - 1)
    rows, width = len(prompts), max(len(p) for p in prompts) - shared
    cache = None
    if shared:
        cache = causal.model(input_ids=tensor([prompts[0][:shared]]), use_cache=True).past_key_values
        cache.batch_repeat_interleave(rows)
    # Suffixes left-padded, so every row's next token is read at the last position.
    ids = tensor([[pad_id] * (width - len(p) + shared) + p[shared:] for p in prompts])
    mask = tensor([[1] * shared + [0] * (width - len(p) + shared) + [1] * (len(p) - shared) for p in prompts])
    positions = tensor([[0] * (width - len(p) + shared) + list(range(shared, len(p))) for p in prompts])
    out = causal.model(input_ids=ids, attention_mask=mask, position_ids=positions, past_key_values=cache, use_cache=True)
    following = tensor([len(p) for p in prompts])
    answers, done = [[] for _ in prompts], [False] * rows
    for _ in range(max_new_tokens):
        picks = causal.lm_head(out.last_hidden_state[:, -1]).argmax(-1)
        for k, token in enumerate(picks.tolist()):
            if not done[k]:
                done[k] = token in stop_ids
                if not done[k]:
                    answers[k].append(token)
        if all(done):
            break
        mask = torch.cat([mask, torch.ones((rows, 1), dtype=mask.dtype, device=mask.device)], dim=1)
        out = causal.model(input_ids=picks[:, None], attention_mask=mask, position_ids=following[:, None],
                           past_key_values=out.past_key_values, use_cache=True)
        following += 1
    return answers


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


def evaluate(model, devel, tokenizer, stop_ids, pad_id, precision, max_new_tokens, batch_size=64):
    """Micro P/R/F1 of exact strings, batches of one corpus each so they share their prompt's beginning."""
    model.eval()
    turns = sorted(((ex, t) for ex in devel for t in range(len(ex["answer_spans"]))),
                   key=lambda turn: (turn[0]["corpus"], turn[0]["answer_spans"][turn[1]][0]))
    counts = {}
    for i in range(0, len(turns), batch_size):
        chunk = turns[i:i + batch_size]
        with precision():
            answers = greedy_answers(model, [ex["ids"][:ex["answer_spans"][t][0]] for ex, t in chunk], stop_ids, max_new_tokens, pad_id)
        for (ex, t), answer in zip(chunk, answers):
            predicted = answer_strings(tokenizer.decode(answer, skip_special_tokens=True))
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
