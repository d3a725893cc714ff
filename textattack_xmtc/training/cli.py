"""``textattack-xmtc train``: train a victim on a built-in or user data set and save it.

Usage::

    parser = argparse.ArgumentParser(); add_train_arguments(parser)
    sys.exit(run_train(parser.parse_args(["--data", "reuters21578", "--output", "my-model"])))
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ARCHITECTURES = ("attentionxml", "aplc-xlnet")

# The defaults of training.attentionxml and training.aplc_xlnet, repeated so that --help
# need not import torch (tests check that they agree).
DEFAULT_SIZES = {"emb_size": 50, "hidden_size": 64, "linear_size": [256]}
ATTENTIONXML_TRAINING = {"epochs": 8, "batch_size": 32, "lr": 3e-3, "max_length": 500}
APLC_SCRATCH_SIZES = {"d_model": 128, "n_layer": 2, "n_head": 4, "d_inner": 512, "last_hidden_size": 128,
                      "div_value": 2.0}
APLC_SCRATCH_TRAINING = {"epochs": 8, "batch_size": 32, "lr_encoder": 1e-3, "lr_summary": 1e-3,
                         "lr_head": 2e-3, "max_length": 256, "train_max_length": 128, "vocab_size": 8000}
APLC_PRETRAINED_TRAINING = {"epochs": 12, "batch_size": 12, "lr_encoder": 5e-5, "lr_summary": 1e-4,
                            "lr_head": 2e-3, "max_length": 512}
#: Options only APLC-XLNet reads (dest names); refused with --architecture attentionxml.
APLC_OPTIONS = ("pretrained", "lr_encoder", "lr_summary", "lr_head", "vocab_size", "d_model", "n_layer",
                "n_head", "d_inner", "last_hidden_size", "div_value", "adaptive_cutoff")
#: Options only AttentionXML reads; refused with --architecture aplc-xlnet when given.
ATTENTIONXML_OPTIONS = ("lr", "no_glove")


def _number_type(convert, accepts, wanted: str):
    """An argparse type: ``convert`` the text, then require ``accepts(value)``; errors say ``wanted``."""
    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}") from None
        if not accepts(value):
            raise argparse.ArgumentTypeError(f"must be {wanted}, got {text}")
        return value
    return parse


positive_int = _number_type(int, lambda value: value >= 1, "a positive integer")
positive_float = _number_type(float, lambda value: 0.0 < value < float("inf"), "a positive number")
# A seed numpy and torch both take.
seed_value = _number_type(int, lambda value: 0 <= value < 2 ** 32, "an integer between 0 and 2**32 - 1")


def _per_architecture(key: str) -> str:
    """'attentionxml X, aplc-xlnet Y (pretrained Z)' for a help text."""
    scratch, pretrained = APLC_SCRATCH_TRAINING.get(key), APLC_PRETRAINED_TRAINING.get(key)
    aplc = f"aplc-xlnet {scratch}" + (f" (with --pretrained {pretrained})" if pretrained != scratch else "")
    return f"attentionxml {ATTENTIONXML_TRAINING[key]}, {aplc}" if key in ATTENTIONXML_TRAINING else aplc


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
    parser.add_argument("--epochs", type=positive_int, default=None,
                        help=f"training epochs (default: {_per_architecture('epochs')})")
    parser.add_argument("--batch-size", type=positive_int, default=None,
                        help=f"documents per step (default: {_per_architecture('batch_size')})")
    parser.add_argument("--max-length", type=positive_int, default=None,
                        help="words (AttentionXML) or SentencePiece pieces (APLC-XLNet) the saved model "
                             f"reads per document (default: {_per_architecture('max_length')})")
    parser.add_argument("--train-max-length", type=positive_int, default=None,
                        help="truncate training documents to this many words / pieces to train faster "
                             f"(default: --max-length; aplc-xlnet from scratch "
                             f"{APLC_SCRATCH_TRAINING['train_max_length']})")
    parser.add_argument("--seed", type=seed_value, default=0, help="random seed (default: %(default)s)")
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda (default: %(default)s)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")

    group = parser.add_argument_group("AttentionXML options")
    group.add_argument("--lr", type=positive_float, default=None,
                       help=f"Adam learning rate (default: {ATTENTIONXML_TRAINING['lr']})")
    group.add_argument("--emb-size", type=positive_int, default=DEFAULTS["emb_size"],
                       help="word embedding size; GloVe vectors are 50-d (default: %(default)s)")
    group.add_argument("--hidden-size", type=positive_int, default=DEFAULTS["hidden_size"],
                       help="LSTM hidden size per direction (default: %(default)s)")
    group.add_argument("--linear-size", type=positive_int, nargs="+", default=DEFAULTS["linear_size"],
                       help="hidden sizes of the MLP shared by all labels (default: %(default)s)")
    group.add_argument("--no-glove", action="store_true",
                       help="initialise word embeddings randomly instead of from GloVe 6B 50-d")

    group = parser.add_argument_group(
        "APLC-XLNet options", "without --pretrained a small XLNet is trained from scratch on a SentencePiece "
                              "model learnt from the training texts")
    group.add_argument("--pretrained", metavar="DIR", default=None,
                       help="fine-tune this local XLNet (config.json, pytorch_model.bin or model.safetensors, "
                            "spiece.model; e.g. a copy of xlnet-base-cased), as the paper does")
    for name, part in (("encoder", "XLNet encoder"), ("summary", "sequence summary"), ("head", "APLC head")):
        group.add_argument(f"--lr-{name}", type=positive_float, default=None,
                           help=f"AdamW learning rate of the {part} (default: {_per_architecture('lr_' + name)})")
    group.add_argument("--vocab-size", type=positive_int, default=None,
                       help="SentencePiece pieces at most, from scratch "
                            f"(default: {APLC_SCRATCH_TRAINING['vocab_size']})")
    for name, meaning in (("d_model", "XLNet hidden size"), ("n_layer", "XLNet layers"),
                          ("n_head", "attention heads"), ("d_inner", "feed-forward size")):
        group.add_argument(f"--{name.replace('_', '-')}", type=positive_int, default=None,
                           help=f"{meaning}, from scratch (default: {APLC_SCRATCH_SIZES[name]})")
    group.add_argument("--last-hidden-size", type=positive_int, default=None,
                       help=f"sequence summary size (default: {APLC_SCRATCH_SIZES['last_hidden_size']}; "
                            "with --pretrained the encoder's d_model)")
    group.add_argument("--div-value", type=positive_float, default=None,
                       help="each tail cluster's hidden size is the previous one divided by this "
                            f"(default: {APLC_SCRATCH_SIZES['div_value']})")
    group.add_argument("--adaptive-cutoff", type=positive_int, nargs="+", default=None, metavar="N",
                       help="APLC cluster boundaries in label-frequency order (default: chosen from the "
                            "training label frequencies)")
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
    from ..errors import ModelLoadError
    from ..model_wrappers.saved import SAVED_MODEL_FILE

    misplaced = _misplaced_options(args)
    if misplaced:
        print(f"error: {', '.join(misplaced)} not used by --architecture {args.architecture}", file=sys.stderr)
        return 2
    output = Path(args.output).expanduser()
    problem = _device_problem(args.device)
    if problem:
        print(f"error: --device {args.device}: {problem}", file=sys.stderr)
        return 2
    if output.exists() and not output.is_dir():
        print(f"error: --output {output} is a file; give a directory to save the model in", file=sys.stderr)
        return 2
    if (output / SAVED_MODEL_FILE).exists() and not args.overwrite:
        print(f"error: {output} already holds a saved model; pass --overwrite to replace it", file=sys.stderr)
        return 2
    try:
        if args.architecture == "aplc-xlnet" and args.pretrained:
            from .aplc_xlnet import check_pretrained_directory

            check_pretrained_directory(Path(args.pretrained).expanduser())
        train, test, note = _load_data(args)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if note:
        print(note)
    print(f"Training {args.architecture} on {len(train)} documents with {len(train.label_names())} labels")
    try:
        wrapper, metrics = _train(args, train, test)
    except ModelLoadError as error:  # sizes that do not fit together (e.g. --n-head and --d-model)
        print(f"error: {error}", file=sys.stderr)
        return 2
    wrapper.training["data"] = str(args.data)
    wrapper.save(output)
    print(f"Trained in {metrics['train_seconds']:.0f} s; saved to {output} (use it with --model {output})")
    return 0


def _device_problem(name: str):
    """Why torch cannot train on device ``name`` here, or None."""
    import torch

    try:
        device = torch.device(name)
    except (RuntimeError, ValueError):
        return "not a torch device (use cpu, cuda or cuda:N)"
    if device.type == "cuda" and not torch.cuda.is_available():
        return "CUDA is not available on this machine (use --device cpu)"
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        return f"this machine has {torch.cuda.device_count()} CUDA device(s)"
    if device.type not in ("cpu", "cuda"):
        return "only cpu and cuda are supported"
    return None


def _misplaced_options(args: argparse.Namespace) -> list:
    """The options given that the chosen architecture does not read (they would be silently ignored)."""
    foreign = APLC_OPTIONS if args.architecture == "attentionxml" else ATTENTIONXML_OPTIONS
    return [f"--{name.replace('_', '-')}" for name in foreign if getattr(args, name) not in (None, False)]


def _train(args: argparse.Namespace, train, test):
    """Run the chosen architecture's trainer with the options given (unset ones: its defaults)."""
    common = dict(seed=args.seed, device=args.device, progress=not args.quiet)
    if args.architecture == "aplc-xlnet":
        from ..training.aplc_xlnet import train_aplc_xlnet

        sizes = {name: getattr(args, name) for name in ("d_model", "n_layer", "n_head", "d_inner",
                                                        "last_hidden_size", "div_value", "adaptive_cutoff")
                 if getattr(args, name) is not None}
        return train_aplc_xlnet(
            train, test, pretrained=args.pretrained, epochs=args.epochs, batch_size=args.batch_size,
            lr_encoder=args.lr_encoder, lr_summary=args.lr_summary, lr_head=args.lr_head,
            max_length=args.max_length, train_max_length=args.train_max_length, vocab_size=args.vocab_size,
            **sizes, **common,
        )
    from ..training.attentionxml import train_attentionxml

    defaults = ATTENTIONXML_TRAINING
    return train_attentionxml(
        train, test, epochs=args.epochs or defaults["epochs"], batch_size=args.batch_size or defaults["batch_size"],
        lr=args.lr if args.lr is not None else defaults["lr"], max_length=args.max_length or defaults["max_length"],
        train_max_length=args.train_max_length, emb_size=args.emb_size, hidden_size=args.hidden_size,
        linear_size=list(args.linear_size), glove_init=not args.no_glove, **common,
    )
