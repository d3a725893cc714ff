"""``textattack-xmtc train``: train a victim on a built-in or user data set and save it.

Usage::

    parser = argparse.ArgumentParser(); add_train_arguments(parser)
    sys.exit(run_train(parser.parse_args(["--data", "reuters21578", "--output", "my-model"])))
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Tuple

from .._threads import set_threads
from ..cli._parsing import add_threads_argument
from ..architectures import Architecture, TrainOption, accepted_train_options, trainable_architectures

#: Options every architecture reads (dest names); each architecture documents its defaults of them.
COMMON_OPTIONS = ("epochs", "batch_size", "max_length", "train_max_length")
#: The rebalanced-loss options (dest names = trainer keywords), the same for every architecture.
LOSS_OPTIONS = ("loss", "loss_a", "loss_b", "loss_beta")
#: Loss names and defaults, repeated from training.losses so that ``--help`` need not import torch.
LOSS_NAMES = ("bce", "pw", "pw-cb")
LOSS_DEFAULTS = {"loss_a": 0.55, "loss_b": 1.5, "loss_beta": 0.9}


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
non_negative_float = _number_type(float, lambda value: 0.0 <= value < float("inf"), "a non-negative number")
open_fraction = _number_type(float, lambda value: 0.0 < value < 1.0, "a number in (0, 1)")
# A seed numpy and torch both take.
seed_value = _number_type(int, lambda value: 0 <= value < 2 ** 32, "an integer between 0 and 2**32 - 1")


def _per_architecture(key: str) -> str:
    """'attentionxml X, aplc-xlnet Y (with --pretrained Z)' for a common option's help text."""
    return ", ".join(f"{a.name} {a.train_defaults[key]}" for a in trainable_architectures() if key in a.train_defaults)


_KINDS = {"int": dict(type=positive_int), "ints": dict(type=positive_int, nargs="+"),
          "float": dict(type=positive_float), "path": dict(), "flag": dict(action="store_const")}


def _add_option(group, option: TrainOption) -> None:
    settings = dict(_KINDS[option.kind])
    if option.kind == "flag":
        settings["const"] = True  # the trainer's value is option.value (see _trainer_options)
    elif option.metavar:
        settings["metavar"] = option.metavar
    default = f" (default: {option.default})" if option.default is not None else ""
    group.add_argument(option.flag, dest=option.dest, default=None, help=option.help + default, **settings)


def add_train_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the ``train`` options to ``parser`` (imports nothing heavy, so ``--help`` is fast).

    The architectures, their option groups and defaults come from
    :data:`textattack_xmtc.architectures.ARCHITECTURES`.

    Usage::

        add_train_arguments(subparsers.add_parser("train", help="train a victim model"))
    """
    architectures = trainable_architectures()
    parser.add_argument("--data", required=True, metavar="NAME_OR_PATH",
                        help="training data: a built-in data set name (reuters21578), a JSONL file "
                             "({\"text\": ..., \"labels\": [...]} per line), or an AttentionXML / "
                             "APLC-XLNet data set directory; its 'train' split is used for training "
                             "and its 'test' split, if any, for the P@k table")
    parser.add_argument("--test-data", metavar="NAME_OR_PATH", default=None,
                        help="evaluation data when --data has no test split (e.g. a JSONL file); "
                             "its 'test' split is read")
    parser.add_argument("--architecture", choices=[a.name for a in architectures], default=None,
                        help=f"victim architecture (default: {architectures[0].name}, or that of --init-from)")
    parser.add_argument("--init-from", metavar="MODEL", default=None,
                        help="continue training this saved model (a built-in name or a directory saved by "
                             "train) instead of a new one: fine-tuning keeps its network sizes, vocabulary or "
                             "tokenizer, input length and labels (every training label must be one of them), "
                             "so only epochs, batch size, learning rates, --train-max-length, the loss and "
                             "adversarial training apply; the model itself is not changed")
    parser.add_argument("--output", required=True, metavar="DIR",
                        help="directory to save the trained model in (loadable with --model DIR); it must be "
                             "new or empty")
    parser.add_argument("--overwrite", action="store_true",
                        help="write into --output even though it is not empty (replacing a saved model, or "
                             "beside files of yours: files of the same names are overwritten)")
    parser.add_argument("--epochs", type=positive_int, default=None,
                        help=f"training epochs (default: {_per_architecture('epochs')})")
    parser.add_argument("--batch-size", type=positive_int, default=None,
                        help=f"documents per step (default: {_per_architecture('batch_size')})")
    parser.add_argument("--max-length", type=positive_int, default=None,
                        help="words (AttentionXML) or SentencePiece pieces (APLC-XLNet) the saved model "
                             f"reads per document (default: {_per_architecture('max_length')})")
    parser.add_argument("--train-max-length", type=positive_int, default=None,
                        help="truncate training documents to this many words / pieces to train faster "
                             f"(default: {_per_architecture('train_max_length')})")
    parser.add_argument("--seed", type=seed_value, default=0, help="random seed (default: %(default)s)")
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda (default: %(default)s)")
    add_threads_argument(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    _add_loss_arguments(parser)
    _add_adversarial_arguments(parser)
    for architecture in architectures:
        group = parser.add_argument_group(f"{architecture.title} options", architecture.train_options_note or None)
        for option in architecture.train_options:
            _add_option(group, option)
    return parser


def _add_loss_arguments(parser: argparse.ArgumentParser) -> None:
    """``--loss`` and its parameters (the paper's defence), shared by every architecture."""
    group = parser.add_argument_group(
        "loss (the paper's defence)",
        "per-label weights on the positive term of the binary cross-entropy, rescaled to sum to the number "
        "of labels L; with N training documents and N_l positives of label l, inv_p = 1 + C (N_l + B)^-A, "
        "C = (ln N - 1)(B + 1)^A (Jain et al.)")
    group.add_argument("--loss", choices=LOSS_NAMES, default=None,
                       help="bce: plain binary cross-entropy; pw: propensity-weighted, w_l = 2 inv_p - 1; "
                            "pw-cb: class-balanced, w_l = (1 - beta) / (1 - beta^N_l) (2 inv_p - 1) "
                            "(default: bce)")
    group.add_argument("--loss-a", type=non_negative_float, default=None, metavar="A",
                       help=f"propensity parameter A of pw and pw-cb (default: {LOSS_DEFAULTS['loss_a']})")
    group.add_argument("--loss-b", type=non_negative_float, default=None, metavar="B",
                       help=f"propensity parameter B of pw and pw-cb (default: {LOSS_DEFAULTS['loss_b']})")
    group.add_argument("--loss-beta", type=open_fraction, default=None, metavar="BETA",
                       help=f"class-balance beta of pw-cb, in (0, 1) (default: {LOSS_DEFAULTS['loss_beta']})")


#: Defaults of the adversarial options, repeated from training.adversarial so that ``--help`` loads nothing.
ADVERSARIAL_DEFAULTS = {"targets": 100, "recipe": "xmtc-pos"}


def _add_adversarial_arguments(parser: argparse.ArgumentParser) -> None:
    """``--adversarial-from`` / ``--adversarial-rounds`` and the rounds' options."""
    group = parser.add_argument_group(
        "adversarial training (beyond the paper)",
        "retrain on the training data plus successful adversarial documents, each with its ORIGINAL true "
        "labels; the documents of --adversarial-from come first, then each round attacks the latest model "
        "and retrains (same seed and options; from scratch, or from --init-from again when given) on "
        "everything found so far. The saved model "
        "records it (evaluate and result rows show it)")
    group.add_argument("--adversarial-from", nargs="+", metavar="RUN_DIR", default=None,
                       help="run directories of `textattack-xmtc experiment` (made on a model of the same "
                            "label set): their successful attacks become training documents")
    group.add_argument("--adversarial-rounds", type=positive_int, default=None, metavar="N",
                       help="N rounds of: draw positive targets on the TRAINING split, attack them "
                            "(OUTPUT/adversarial/round-<r>/, a run directory `report` reads), add the "
                            "successes, retrain")
    group.add_argument("--adversarial-targets", type=positive_int, default=None, metavar="M",
                       help=f"targets attacked per round (default: {ADVERSARIAL_DEFAULTS['targets']})")
    group.add_argument("--adversarial-recipe", default=None, metavar="RECIPE",
                       help="the rounds' attack: xmtc-pos or xmtc-untargeted, with options in TextAttack's "
                            "syntax, e.g. 'xmtc-pos^encoder=\"none\"' "
                            f"(default: {ADVERSARIAL_DEFAULTS['recipe']})")


def _adversarial_problem(args: argparse.Namespace):
    """Why the adversarial options do not go together, or None."""
    if getattr(args, "adversarial_rounds", None) is None:
        unused = [flag for flag, dest in (("--adversarial-targets", "adversarial_targets"),
                                          ("--adversarial-recipe", "adversarial_recipe"))
                  if getattr(args, dest, None) is not None]
        if unused:
            return f"{', '.join(unused)} not used without --adversarial-rounds"
    if getattr(args, "adversarial_from", None):
        from .adversarial import AdversarialTrainingError, check_run_directories

        try:  # before "Training ..." and the data are read, not after
            check_run_directories(args.adversarial_from)
        except AdversarialTrainingError as error:
            return str(error)
    return None


def _adversarial_settings(args: argparse.Namespace):
    """The :class:`~textattack_xmtc.training.adversarial.AdversarialSettings` asked for, or None."""
    if not getattr(args, "adversarial_from", None) and not getattr(args, "adversarial_rounds", None):
        return None
    from .adversarial import AdversarialSettings

    return AdversarialSettings(
        from_runs=list(args.adversarial_from or ()), rounds=args.adversarial_rounds or 0,
        targets=args.adversarial_targets or ADVERSARIAL_DEFAULTS["targets"],
        recipe=args.adversarial_recipe or ADVERSARIAL_DEFAULTS["recipe"], seed=args.seed,
        progress=not args.quiet)


def _loss_problem(args: argparse.Namespace):
    """Why the loss options do not go together (a parameter the chosen loss does not read), or None."""
    loss = getattr(args, "loss", None) or LOSS_NAMES[0]
    unused = [flag for flag, dest, readers in (("--loss-a", "loss_a", ("pw", "pw-cb")),
                                              ("--loss-b", "loss_b", ("pw", "pw-cb")),
                                              ("--loss-beta", "loss_beta", ("pw-cb",)))
              if getattr(args, dest, None) is not None and loss not in readers]
    if unused:
        return f"{', '.join(unused)} not used by --loss {loss}"
    return None


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

    Nothing is written into an ``--output`` that is not new or empty unless
    ``--overwrite`` is given (it might be the data directory, whose
    ``labels.txt`` a saved APLC-XLNet model would replace).

    Usage::

        status = run_train(parser.parse_args())
    """
    from ..errors import ModelLoadError
    from .adversarial import AdversarialTrainingError
    from .losses import LossSettingsError

    start = None
    if args.init_from:
        start, problem = _start_model(args)
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            return 2
    args.architecture = args.architecture or trainable_architectures()[0].name
    architecture = _chosen(args)
    misplaced, fixed = _misplaced_options(args), _fixed_by_start(args, architecture)
    if misplaced or fixed:
        why = f"not used by --architecture {args.architecture}" if misplaced else f"fixed by --init-from {args.init_from}"
        print(f"error: {', '.join(misplaced or fixed)} {why}", file=sys.stderr)
        return 2
    problem = _loss_problem(args) or _adversarial_problem(args)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    output = Path(args.output).expanduser()
    problem = _device_problem(args.device)
    if problem:
        print(f"error: --device {args.device}: {problem}", file=sys.stderr)
        return 2
    problem = _output_problem(output, args.overwrite) or _output_is_an_input(output, args)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    options = _trainer_options(args, architecture)
    if start is not None:
        options["init_from"] = start
    try:
        if architecture.train_check is not None:
            from ..architectures import resolve

            resolve(architecture.train_check)(options)
        train, test, note = _load_data(args)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if note:
        print(note)
    continuing = f", continuing {args.init_from}" if start is not None else ""
    print(f"Training {args.architecture} on {len(train)} documents with {len(train.label_names())} labels, "
          f"loss {args.loss or LOSS_NAMES[0]}{continuing}")
    adversarial = _adversarial_settings(args)
    print(f"torch threads: {set_threads(args.threads)}")

    def train_model(corpus):
        return architecture.train_function()(
            corpus, test, seed=args.seed, device=args.device, progress=not args.quiet, **options)

    try:
        if adversarial is None:
            wrapper, metrics = train_model(train)
        else:
            from .adversarial import adversarial_training

            result = adversarial_training(train, test, train_model, adversarial, output,
                                          training_record={"data": str(args.data)})
            wrapper, metrics, train = result.wrapper, result.metrics, result.corpus
    # Sizes that do not fit together; a diverged run; loss weights the corpus cannot give (N < 3);
    # adversarial runs that cannot be used.
    # Training labels the --init-from model does not score.
    except (ModelLoadError, FloatingPointError, LossSettingsError, AdversarialTrainingError, ValueError) as error:
        print(f"error: {' '.join(str(error).split())}", file=sys.stderr)
        return 2
    wrapper.training["data"] = str(args.data)
    wrapper.save(output)
    epochs, how = epochs_trained(wrapper.training)
    per_10k = metrics["train_seconds"] / epochs / max(1, len(train)) * 10_000
    print(f"Trained in {metrics['train_seconds']:.0f} s ({per_10k:.1f} s per epoch per 10,000 documents{how}); "
          f"saved to {output} (use it with --model {output})")
    return 0


def epochs_trained(training: dict) -> Tuple[int, str]:
    """Passes over the training documents a model's ``training`` record says it made, and how to say it.

    A label tree trains ``epochs`` per level: ``levels x epochs`` in all, and the
    per-epoch time divides by that, not by ``epochs``. At least 1 (0 epochs is 1).

    Usage::

        epochs_trained({"epochs": 12, "tree": {"levels": 3}})   # (36, ", over 3 levels x 12 epochs")
    """
    epochs = training.get("epochs") or 0
    levels = (training.get("tree") or {}).get("levels")
    if levels:
        return max(1, levels * epochs), f", over {levels} levels x {epochs} epochs"
    return max(1, epochs), ""


#: Options a fine-tuned model still takes from the command line (besides the common ones): learning rates.
CONTINUED_OPTIONS = ("lr", "lr_encoder", "lr_summary", "lr_head")


def _start_model(args: argparse.Namespace):
    """(the --init-from model, None) or (None, why it cannot be continued); sets --architecture from it."""
    from ..errors import ModelLoadError
    from ..model_wrappers import load_victim

    try:
        start = load_victim(args.init_from, device=args.device)
    except (ModelLoadError, FileNotFoundError, RuntimeError, ValueError) as error:
        return None, f"--init-from {args.init_from}: {' '.join(str(error).split())}"
    name = start.identity()["architecture"]
    trainable = [a.name for a in trainable_architectures()]
    if name not in trainable:
        return None, f"--init-from {args.init_from} holds an {name} model; train continues {', '.join(trainable)} models"
    if args.architecture and args.architecture != name:
        return None, (f"--init-from {args.init_from} holds an {name} model, not --architecture "
                      f"{args.architecture}; leave --architecture out")
    args.architecture = name
    return start, None


def _fixed_by_start(args: argparse.Namespace, architecture: Architecture) -> list:
    """The options given that a continued model fixes (its sizes, vocabulary, input length)."""
    if not args.init_from:
        return []
    fixed = ["--max-length"] if args.max_length is not None else []
    return fixed + [option.flag for option in accepted_train_options(architecture)
                    if option.dest not in CONTINUED_OPTIONS and getattr(args, option.dest, None) is not None]


def _chosen(args: argparse.Namespace) -> Architecture:
    from ..architectures import get_architecture

    return get_architecture(args.architecture)


def _output_problem(output: Path, overwrite: bool):
    """Why training must not write into ``output``, or None.

    A new or empty directory is fine; anything else needs ``--overwrite``: a
    model saved before, or files this package did not write (a data set, say).
    """
    from ..model_wrappers.saved import SAVED_MODEL_FILE

    if output.exists() and not output.is_dir():
        return f"--output {output} is a file; give a directory to save the model in"
    if not output.is_dir() or overwrite:
        return None
    if (output / SAVED_MODEL_FILE).exists():
        return f"{output} already holds a saved model; pass --overwrite to replace it"
    entries = sorted(entry.name for entry in output.iterdir())
    if entries:
        shown = ", ".join(entries[:5]) + (f", ... ({len(entries) - 5} more)" if len(entries) > 5 else "")
        return (f"--output {output} is not empty and holds files textattack-xmtc did not write ({shown}); "
                f"saving would overwrite files of the same names (labels.txt, config.json, ...). Give a new or "
                f"empty directory, or pass --overwrite to write into it anyway")
    return None


def _output_is_an_input(output: Path, args: argparse.Namespace):
    """Why ``output`` must not be written even with ``--overwrite``: it is what training reads."""
    for flag, value in (("--init-from", args.init_from), ("--data", args.data),
                        ("--test-data", getattr(args, "test_data", None))):
        if value and output.is_dir() and _same_path(output, Path(value).expanduser()):
            return (f"--output {output} is the {flag} {'model' if flag == '--init-from' else 'dataset'} itself: "
                    f"saving would replace what training reads; give another --output")
    return None


def _same_path(first: Path, second: Path) -> bool:
    try:
        return first.exists() and second.exists() and first.resolve() == second.resolve()
    except OSError:  # a symbolic link loop: not the same as a real directory
        return False


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
    from ..architectures import get_architecture

    accepted = {option.flag for option in accepted_train_options(get_architecture(args.architecture))}
    return [option.flag for architecture in trainable_architectures() for option in architecture.train_options
            if option.flag not in accepted and getattr(args, option.dest, None) is not None]


def _trainer_options(args: argparse.Namespace, architecture: Architecture) -> dict:
    """The trainer's keyword arguments: the common and architecture options given (unset ones: its defaults)."""
    options = {name: getattr(args, name) for name in COMMON_OPTIONS if getattr(args, name, None) is not None}
    options.update({name: getattr(args, name) for name in LOSS_OPTIONS if getattr(args, name, None) is not None})
    for option in accepted_train_options(architecture):
        value = getattr(args, option.dest, None)
        if value is not None:
            options[option.trainer_keyword] = option.value if option.kind == "flag" else value
    return options
