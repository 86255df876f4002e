"""A random (non-zero) LoRA adapter on a checkpoint, saved in PEFT's format, and the logits of
the base with the adapter applied by PEFT itself: the reference the merged ONNX model must match.

    python peft_reference.py BASE_DIR ADAPTER_OUT LOGITS_OUT.f32 ID,ID,...
"""
import sys

import numpy as np
import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM

base, adapter_out, logits_out, ids = sys.argv[1:5]
torch.manual_seed(7)
model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
config = LoraConfig(r=4, lora_alpha=8, init_lora_weights=False, task_type="CAUSAL_LM",
                    target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])
model = get_peft_model(model, config).eval()
model.save_pretrained(adapter_out, safe_serialization=True)
with torch.no_grad():
    logits = model(input_ids=torch.tensor([[int(i) for i in ids.split(",")]])).logits
np.asarray(logits, dtype="<f4").tofile(logits_out)
