"""``textattack-xmtc train``: train a victim on a built-in or user data set and save it.

Usage::

    parser = argparse.ArgumentParser(); add_train_arguments(parser)
    sys.exit(run_train(parser.parse_args(["--data", "reuters21578", "--output", "my-model"])))
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ARCHITECTURES = ("attentionxml",)

# The defaults of training.attentionxml, repeated so that --help need not import torch
# (tests check that the two agree).
DEFAULT_SIZES = {"emb_size": 50, "hidden_size": 64, "linear_size": [256]}


def add_train_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the ``train`` options to ``parser`` (imports nothing heavy, so ``--help`` is fast).

    Usage::

        add_train_arguments(subparsers.add_parser("train", help="train a victim model"))
    """
    DEFAULTS = DEFAULT_SIZES
    parser.add_argument("--data", required=True, metavar="NAME_OR_PATH",
                        help="training data: a built-in data set name (reuters21578), a JSONL file "
                             "({\"text\": ..., \"labels\": [...]} per line), or an AttentionXML / "
                             "APLC-XLNet data set directory; its 'train' split is used for training "
                             "and its 'test' split, if any, for the P@k table")
    parser.add_argument("--test-data", metavar="NAME_OR_PATH", default=None,
                        help="evaluation data when --data has no test split (e.g. a JSONL file); "
                             "its 'test' split is read")
    parser.add_argument("--architecture", choices=ARCHITECTURES, default="attentionxml",
                        help="victim architecture (default: %(default)s)")
    parser.add_argument("--output", required=True, metavar="DIR",
                        help="directory to save the trained model in (loadable with --model DIR)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace a model already saved in --output")
    parser.add_argument("--epochs", type=int, default=8, help="training epochs (default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=32, help="documents per step (default: %(default)s)")
    parser.add_argument("--lr", type=float, default=3e-3, help="Adam learning rate (default: %(default)s)")
    parser.add_argument("--max-length", type=int, default=500,
                        help="words the saved model reads per document, as the original AttentionXML "
                             "(default: %(default)s)")
    parser.add_argument("--train-max-length", type=int, default=None,
                        help="truncate training documents to this many words to train faster "
                             "(default: --max-length)")
    parser.add_argument("--emb-size", type=int, default=DEFAULTS["emb_size"],
                        help="word embedding size; GloVe vectors are 50-d (default: %(default)s)")
    parser.add_argument("--hidden-size", type=int, default=DEFAULTS["hidden_size"],
                        help="LSTM hidden size per direction (default: %(default)s)")
    parser.add_argument("--linear-size", type=int, nargs="+", default=DEFAULTS["linear_size"],
                        help="hidden sizes of the MLP shared by all labels (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    parser.add_argument("--no-glove", action="store_true",
                        help="initialise word embeddings randomly instead of from GloVe 6B 50-d")
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda (default: %(default)s)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


def _load_data(args: argparse.Namespace):
    """(train, test or None, note) from --data / --test-data."""
    from ..datasets.corpus import load_corpus

    train = load_corpus(args.data, "train")
    if args.test_data:
        return train, load_corpus(args.test_data, "test"), None
    if Path(args.data).expanduser().is_file():
        # A JSONL file is a single split: its "test" would be the training data again.
        return train, None, f"{args.data} is a single file: no test evaluation (give --test-data)"
    try:
        return train, load_corpus(args.data, "test"), None
    except FileNotFoundError:
        return train, None, f"{args.data} has no test split: no test evaluation (give --test-data)"


def run_train(args: argparse.Namespace) -> int:
    """Train, print the test P@k table, save to ``--output``; returns the exit status.

    Usage::

        status = run_train(parser.parse_args())
    """
    from ..model_wrappers.attentionxml import METADATA_FILE

    output = Path(args.output).expanduser()
    if (output / METADATA_FILE).exists() and not args.overwrite:
        print(f"error: {output} already holds a saved model; pass --overwrite to replace it", file=sys.stderr)
        return 2
    try:
        train, test, note = _load_data(args)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if note:
        print(note)
    from ..training.attentionxml import train_attentionxml

    print(f"Training {args.architecture} on {len(train)} documents with {len(train.label_names())} labels")
    wrapper, metrics = train_attentionxml(
        train, test, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
        max_length=args.max_length, train_max_length=args.train_max_length,
        emb_size=args.emb_size, hidden_size=args.hidden_size, linear_size=list(args.linear_size),
        glove_init=not args.no_glove, seed=args.seed, device=args.device, progress=not args.quiet,
    )
    wrapper.training["data"] = str(args.data)
    wrapper.save(output)
    print(f"Trained in {metrics['train_seconds']:.0f} s; saved to {output} (use it with --model {output})")
    return 0
