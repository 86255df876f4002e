"""Training batches that share their prompt's beginning, and the answer loss computed on them.

Every conversation of a corpus starts with the same system prompt, instruction and format
description: 88-91 tokens of 134-230, most of what a step would feed. So each batch is drawn from
one corpus, that common prefix is fed once, its keys and values are repeated across the batch,
and only the rows' suffixes are fed after it. The loss and the gradients are those of the
padded batch: `padded_answer_loss` is that reference, which test/training.test.ts compares
against and speed.py times.
"""

import random
from dataclasses import dataclass

import torch
from peft import PeftModel

IGNORE = -100


def batches_for_epoch(examples, batch_size, seed, epoch):
    """Length-grouped batches of one corpus each, in an order that depends only on (seed, epoch), so a resumed run replays it."""
    rng = random.Random(seed * 1000 + epoch)
    by_corpus = {}
    for k, example in enumerate(examples):
        by_corpus.setdefault(example["corpus"], []).append(k)
    pool = batch_size * 32
    batches = []
    for corpus in sorted(by_corpus):
        order = by_corpus[corpus]
        rng.shuffle(order)
        for i in range(0, len(order), pool):
            chunk = sorted(order[i:i + pool], key=lambda k: len(examples[k]["ids"]))
            batches += [chunk[j:j + batch_size] for j in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


@dataclass
class Batch:
    prefix: torch.Tensor      # [1, P]: the ids every row starts with
    suffixes: torch.Tensor    # [B, W]: the rest of each row, padded on the right
    attention: torch.Tensor   # [B, P + W]
    labels: torch.Tensor      # [B, W]: suffix ids where the loss is taken, IGNORE elsewhere
    tokens: int               # conversation tokens in the batch, prefix counted in every row

    def to(self, device):
        return Batch(self.prefix.to(device), self.suffixes.to(device), self.attention.to(device), self.labels.to(device), self.tokens)


def collate(examples, indices, pad_id):
    rows = [examples[i] for i in indices]
    # The prefix ends before the earliest answer token's predecessor, so every logit read comes from a suffix position.
    shared = min(common_prefix_length([r["ids"] for r in rows]), min(r["answer_spans"][0][0] for r in rows) - 1)
    width = max(len(r["ids"]) for r in rows) - shared
    suffixes = torch.full((len(rows), width), pad_id, dtype=torch.long)
    labels = torch.full((len(rows), width), IGNORE, dtype=torch.long)
    attention = torch.zeros((len(rows), shared + width), dtype=torch.long)
    for k, row in enumerate(rows):
        ids = torch.tensor(row["ids"], dtype=torch.long)
        suffixes[k, :len(ids) - shared] = ids[shared:]
        attention[k, :len(ids)] = 1
        for start, end in row["answer_spans"]:
            labels[k, start - shared:end - shared] = ids[start:end]
    prefix = torch.tensor(rows[0]["ids"][:shared], dtype=torch.long).unsqueeze(0)
    return Batch(prefix, suffixes, attention, labels, sum(len(r["ids"]) for r in rows))


def common_prefix_length(sequences):
    first = sequences[0]
    n = min(len(s) for s in sequences)
    for i in range(n):
        if any(s[i] != first[i] for s in sequences):
            return i
    return n


def causal_lm(model):
    """The causal LM under a PEFT wrapper (LoRA layers sit inside it), so its body and head can be called apart."""
    return model.get_base_model() if isinstance(model, PeftModel) else model


def answer_loss(model, batch):
    """Cross-entropy on the answer tokens: the prefix fed once, then the suffixes after its repeated keys and values.

    The LM head is applied only where a label is read: for SmolLM2 it is a 576 x 49k matrix, a
    fifth of the forward pass over every position, and answers are a tenth of the tokens.
    """
    causal = causal_lm(model)
    cache = causal.model(input_ids=batch.prefix, use_cache=True).past_key_values
    cache.batch_repeat_interleave(batch.suffixes.shape[0])
    hidden = causal.model(input_ids=batch.suffixes, attention_mask=batch.attention, past_key_values=cache,
                          use_cache=True).last_hidden_state
    targets = batch.labels[:, 1:]
    read = targets != IGNORE
    logits = causal.lm_head(hidden[:, :-1][read])
    return torch.nn.functional.cross_entropy(logits.float(), targets[read])


def padded_answer_loss(model, examples, indices, pad_id):
    """The reference: every row fed whole, padded on the right, through the model's own forward over all positions."""
    rows = [examples[i] for i in indices]
    width = max(len(r["ids"]) for r in rows)
    ids = torch.full((len(rows), width), pad_id)
    labels = torch.full((len(rows), width), IGNORE)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for k, row in enumerate(rows):
        ids[k, :len(row["ids"])] = torch.tensor(row["ids"])
        mask[k, :len(row["ids"])] = 1
        for start, end in row["answer_spans"]:
            labels[k, start:end] = ids[k, start:end]
    logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1]
    return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), labels[:, 1:].reshape(-1),
                                             ignore_index=IGNORE)
