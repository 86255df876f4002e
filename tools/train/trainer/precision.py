"""fp32 or bf16 autocast, chosen by timing both on this machine.

Which is faster depends on the CPU, not on a flag: bf16 autocast ran 1.8x faster than fp32 on an
AMD EPYC with AVX512-BF16 and 4x slower on an Intel Xeon without AMX. So `auto` times a linear
layer's forward and backward at the model's shapes in both and keeps the faster.
"""

import time

import torch


def measure_rates(hidden, intermediate, tokens=1024, seconds=1.0):
    """GFLOP/s of a Linear hidden -> intermediate, forward and backward, in fp32 and under bf16 autocast."""
    x = torch.randn(tokens, hidden, requires_grad=True)
    w = torch.randn(intermediate, hidden, requires_grad=True)
    flops = 3 * 2 * tokens * hidden * intermediate  # forward, and two products backward
    rates = {}
    for name, dtype in (("fp32", None), ("bf16", torch.bfloat16)):
        def step():
            with torch.autocast("cpu", dtype=dtype, enabled=dtype is not None):
                y = torch.nn.functional.linear(x, w)
            y.float().sum().backward()
        step()  # warm-up: kernel selection and packing
        runs, started = 0, time.monotonic()
        while time.monotonic() - started < seconds:
            step()
            runs += 1
        rates[name] = runs * flops / (time.monotonic() - started) / 1e9
    return rates


def faster(rates):
    """The precision with the higher measured rate; fp32 on a tie, since it is exact."""
    return "bf16" if rates["bf16"] > rates["fp32"] else "fp32"


def choose_precision(choice, device, hidden, intermediate, log, measure=measure_rates):
    """(autocast dtype or None, name): CUDA takes bf16 where supported; a CPU takes what `measure` says is faster."""
    if choice == "fp32":
        return None, "fp32"
    if choice == "bf16":
        return torch.bfloat16, "bf16"
    if device.type == "cuda":
        return (torch.bfloat16, "bf16") if torch.cuda.is_bf16_supported() else (None, "fp32")
    rates = measure(hidden, intermediate)
    picked = faster(rates)
    log(f"precision auto: fp32 {rates['fp32']:.0f} GFLOP/s, bf16 autocast {rates['bf16']:.0f} GFLOP/s "
        f"(Linear {hidden}->{intermediate}, forward and backward) -> {picked}")
    return (torch.bfloat16 if picked == "bf16" else None), picked
