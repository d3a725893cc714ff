"""Victim throughput: our APLC-XLNet wrapper versus TextAttack's stock padding.

TextAttack's stock ``HuggingFaceModelWrapper`` tokenizes every batch with
``padding="max_length"``: each text becomes 512 positions however short it is.
Our wrapper pads each batch to its own longest text. Both run the SAME
network on the SAME inputs (XLNet-style left padding, masked), so the scores
agree; the table shows texts per second and the largest score difference.

Batches are what an attack sends: 32 one-word variants of one test document
(its candidate swaps), for documents of the corpus's real lengths.

Usage::

    python benchmarks/model_speed.py --model aplc-xlnet-reuters21578 --documents 8
    python benchmarks/model_speed.py --model aplc-xlnet-reuters21578 --device cuda --amp

Prints a table: method, texts/s, seconds, and the speed-up.
"""
from __future__ import annotations

import argparse
import random
import statistics
import time

import torch

STOCK_LENGTH = 512


def pad_to(batch: dict, length: int) -> dict:
    """Left-extend a left-padded XLNet batch to ``length`` positions, as padding="max_length" does."""
    extra = length - batch["input_ids"].shape[1]
    if extra <= 0:
        return batch
    rows = batch["input_ids"].shape[0]
    fill = {"input_ids": 0, "attention_mask": 0, "token_type_ids": 4}  # pad id, masked, pad type
    return {name: torch.cat([torch.full((rows, extra), fill[name], dtype=tensor.dtype), tensor], dim=1)
            for name, tensor in batch.items()}


def attack_batches(documents, batch_size: int, seed: int = 0):
    """Per document, ``batch_size`` variants with one word replaced by another word of it."""
    rng = random.Random(seed)
    batches = []
    for document in documents:
        words = document.split(" ")
        batch = []
        for _ in range(batch_size):
            variant = list(words)
            variant[rng.randrange(len(words))] = rng.choice(words)
            batch.append(" ".join(variant))
        batches.append(batch)
    return batches


def score_batches(victim, batches, stock: bool, amp: bool):
    """Scores of every batch and the seconds they took (tokenization included)."""
    device = victim.device
    outputs = []
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for chunk in batches:
        if not stock:
            outputs.append(victim(chunk).float().cpu())
            continue
        batch = pad_to(victim.inputs.encode_batch(chunk), STOCK_LENGTH)
        batch = {name: tensor.to(device) for name, tensor in batch.items()}
        autocast = torch.autocast("cuda", dtype=torch.float16, enabled=amp and device.type == "cuda")
        with torch.inference_mode(), autocast:
            outputs.append(victim.model(**batch).float().cpu())
    if device.type == "cuda":
        torch.cuda.synchronize()
    return torch.cat(outputs), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="aplc-xlnet-reuters21578", help="an APLC-XLNet MODEL")
    parser.add_argument("--data", default="reuters21578", help="corpus whose test texts are scored")
    parser.add_argument("--documents", type=int, default=8,
                        help="test documents, one batch of variants each (default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=32, help="texts per call (default: %(default)s)")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when present)")
    parser.add_argument("--amp", action="store_true", help="mixed precision on CUDA (both methods)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    from textattack_xmtc.datasets import load_corpus
    from textattack_xmtc.model_wrappers import load_victim

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    victim = load_victim(args.model, device=device)
    if not hasattr(victim, "inputs"):
        parser.error(f"{args.model} is not an APLC-XLNet model")
    victim.mixed_precision = args.amp
    documents = load_corpus(args.data, split="test").texts[: args.documents]
    batches = attack_batches(documents, args.batch_size)
    texts = sum(len(batch) for batch in batches)
    lengths = [len(victim.inputs.ids(document)) for document in documents]

    score_batches(victim, batches[:1], stock=False, amp=args.amp)  # warm-up
    ours, ours_seconds = score_batches(victim, batches, stock=False, amp=args.amp)
    stock, stock_seconds = score_batches(victim, batches, stock=True, amp=args.amp)

    print(f"victim: {victim.describe()}  device: {device}{' (mixed precision)' if args.amp else ''}")
    print(f"{len(documents)} test documents of {args.data} x {args.batch_size} variants; input length "
          f"median {statistics.median(lengths):.0f}, max {max(lengths)} (of at most {victim.inputs.max_length})")
    print(f"{'method':<44} {'texts/s':>9} {'seconds':>9}")
    print(f"{'ours: pad to the batch longest':<44} {texts / ours_seconds:>9.1f} {ours_seconds:>9.2f}")
    print(f"{'stock TextAttack style: pad to 512':<44} {texts / stock_seconds:>9.1f} {stock_seconds:>9.2f}")
    print(f"speed-up: {stock_seconds / ours_seconds:.1f}x; largest score difference "
          f"{float((ours - stock).abs().max()):.2e}")


if __name__ == "__main__":
    main()
