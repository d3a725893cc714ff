"""How often protecting label words changes an attack's outcome (issue: label words).

Runs a recipe twice over the same targets of a victim, once as the paper
does and once with ``protect_label_words=True`` (never replace a word of a
true label's or the target's name), and prints how many outcomes differ and
how many of the paper's successes replaced a label word.

Usage::

    python scripts/label_word_effect.py --model attentionxml-reuters21578 --documents 100
"""
from __future__ import annotations

import argparse

import textattack
from tqdm.auto import tqdm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="attentionxml-reuters21578")
    parser.add_argument("--data", default="reuters21578", help="corpus whose test split gives the documents")
    parser.add_argument("--recipe", choices=["xmtc-pos", "xmtc-neg"], default="xmtc-pos")
    parser.add_argument("--documents", type=int, default=100)
    parser.add_argument("--k", type=int, default=5)
    args = parser.parse_args()

    from textattack_xmtc import load_victim
    from textattack_xmtc.attack_recipes import RECIPES
    from textattack_xmtc.constraints import label_name_words
    from textattack_xmtc.datasets import XMTCTarget, load_corpus

    victim = load_victim(args.model)
    test = load_corpus(args.data, split="test")
    recipe = RECIPES[args.recipe]
    plain = recipe.build(victim, k=args.k, encoder="none")
    protected = recipe.build(victim, k=args.k, encoder="none", protect_label_words=True)
    counts = {"attacked": 0, "succeeded (paper)": 0, "succeeded (protected)": 0, "outcome changed": 0,
              "paper's successes that replaced a label word": 0}
    pairs = list(zip(test.texts, test.labels))[:args.documents]
    for text, labels in tqdm(pairs, desc=f"{args.recipe}, twice per target", unit="document"):
        target = XMTCTarget(labels, "auto", args.k)
        first, second = plain.attack(text, target), protected.attack(text, target)
        if isinstance(first, textattack.attack_results.SkippedAttackResult):
            continue
        won = [isinstance(r, textattack.attack_results.SuccessfulAttackResult) for r in (first, second)]
        counts["attacked"] += 1
        counts["succeeded (paper)"] += won[0]
        counts["succeeded (protected)"] += won[1]
        counts["outcome changed"] += won[0] != won[1]
        original = first.original_result.attacked_text
        words = label_name_words(list(labels) + [first.original_result.output.label])
        replaced = {original.words[i].lower() for i in original.all_words_diff(first.perturbed_result.attacked_text)}
        counts["paper's successes that replaced a label word"] += won[0] and bool(replaced & words)
    print(f"victim: {victim.describe()}; {args.recipe}, k={args.k}, target 'auto', first {len(pairs)} test documents")
    for name, value in counts.items():
        whole = "succeeded (paper)" if name.startswith("paper's successes") else "attacked"
        share = f"  ({value / counts[whole]:.1%} of {whole})" if counts[whole] and name != "attacked" else ""
        print(f"{name:<48} {value:>5}{share}")


if __name__ == "__main__":
    main()
