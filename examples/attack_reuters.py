"""Attack the built-in AttentionXML on Reuters-21578 from Python, inside a plain TextAttack pipeline.

Usage::

    python examples/attack_reuters.py --num-examples 5 --out results.jsonl

Writes one JSON row per result (label, ranks before/after, similarity, ...)
and prints the paper's metrics.
"""
import argparse
import json

import textattack

import textattack_xmtc as tx
from textattack_xmtc.datasets import dataset_from_corpus, load_corpus
from textattack_xmtc.metrics.attack import paper_metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--num-examples", type=int, default=5)
    parser.add_argument("--recipe", choices=["pos", "neg", "untargeted"], default="pos")
    parser.add_argument("--out", default="results.jsonl")
    args = parser.parse_args()

    victim = tx.load_victim("attentionxml-reuters21578")
    recipe = {"pos": tx.XMTCPositive, "neg": tx.XMTCNegative, "untargeted": tx.XMTCUntargeted}[args.recipe]
    attack = recipe.build(victim, k=5)

    test = load_corpus("reuters21578", split="test")
    dataset = dataset_from_corpus(test.texts, test.labels, name="reuters21578")  # targets "auto"
    attack_args = textattack.AttackArgs(num_examples=args.num_examples, disable_stdout=True)
    results = textattack.Attacker(attack, dataset, attack_args).attack_dataset()

    rows = [tx.result_row(result) for result in results]
    with open(args.out, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row) + "\n")
    for row in rows:
        print(f"{row['status']:>9}  '{row['label']}' rank {row['rank_before']} -> {row['rank_after']}"
              f"  similarity={row['similarity']}  changed={row['words_changed']}/{row['words']}")
    print(paper_metrics(rows).as_dict())


if __name__ == "__main__":
    main()
