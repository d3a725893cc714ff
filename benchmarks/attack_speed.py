"""Attack speed: our xmtc-pos recipe versus a faithful re-creation of the paper's loop.

Both attack the SAME positive targets of the same victim with the same
candidates (the top 48 GloVe neighbours, filtered), stopwords, 50% change
limit (of whitespace words) and keep rule (per word, the first success, else
the candidate that lowered the target's probability most from the ORIGINAL
document's, if any did). The paper's loop (adv-xmtc's ``attack()``) scores
the leave-one-out texts in batches, then tries candidates ONE TEXT PER MODEL
CALL, stopping at the first success. Ours batches every word's candidates into
one call, caches outputs and reduces the [B, L] scores to a few numbers per
text on the device.

A third method, ``paper's script``, runs the same loop but scores every
call the way the research script's ``predict()`` does on the same weights
(see :func:`paper_script_scorer`: tokenization from scratch, AttentionXML's
packed-sequence LSTM over every label, APLC-XLNet padded to its maximum
length, leave-one-out texts 12 per call): what a user of the research script
waits for. The ``paper's loop`` row isolates what batching the search gains;
``paper's script`` adds what the wrapper gains. ``--no-script`` leaves it
out; other victims than the two built-in architectures never have it.

With several ``--threads`` values, each method runs at each thread count (all
taking turns on every target), which is how the recipes' default of one torch
thread on CPU was chosen.

``--model`` takes either built-in victim (``attentionxml-reuters21578``,
``aplc-xlnet-reuters21578``), any model path ``load_victim`` reads, or
``synthetic-tree-670k`` (also ``synthetic-tree-<L>``, e.g. ``-10k``): the
random-weight label-tree AttentionXML of ``synthetic_tree.py`` in the
original Amazon-670K tree's shape, attacked on synthetic ``--words``-word
documents whose true labels are its own top-k. For every method the table
gives the share of wall time spent inside the victim's network forward
passes (every ``forward`` of its network, or of each level of a tree, timed
in the same run) and inside the wrapper's scoring calls (the forward plus
tokenization and the reduction of scores), and the peak memory growth of one
target (Linux ``VmHWM``, reset before each target). Taking turns costs our
attack a few points of forward share on the tree (the loop's half-gigabyte
score matrices run in between), so ours runs one more pass alone and that
pass's shares are printed too.

Usage::

    python benchmarks/attack_speed.py --model attentionxml-reuters21578 --targets 20
    python benchmarks/attack_speed.py --threads 1 2 --repeats 3
    python benchmarks/attack_speed.py --model aplc-xlnet-reuters21578 --targets 20
    python benchmarks/attack_speed.py --model synthetic-tree-670k --targets 20 --words 100

Prints a table: median wall time per attacked target (each target timed in
``--repeats`` passes, the methods taking turns on every target, its median
taken), median queries, success rate, forward-pass share, peak memory
growth; the speed-ups of ours over each other method (of the medians, of the
means, and the median of the per-target speed-ups); then, for each method,
the target(s) at its median and the share of their time spent ranking words
by leave-one-out (which every method batches).

Run time: the script's scoring is slow on long documents (a 713-word
Reuters document took over three minutes), so 20 AttentionXML targets take
about 10 minutes with it, 2-3 without (``--no-script``).

The loops differ from ours only in how scores are batched; batched and
single scores differ by about 1e-6, which breaks near-ties between
candidates differently, so on long documents the attacks can part ways and
their success rates differ (either way).
"""
from __future__ import annotations

import argparse
import contextlib
import gc
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Iterator, List

import torch
from tqdm.auto import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent))

from memory import machine_line, peak_mb, reset_peak, rss_mb  # noqa: E402  (benchmarks/, put on the path above)
from textattack_xmtc.shared.memory import release_freed_memory  # noqa: E402

SYNTHETIC = re.compile(r"^synthetic-tree-(?P<count>\d+)(?P<unit>[km]?)$")
# The wrapper methods that score texts; time inside them is the victim's (tokenization included).
SCORING_METHODS = ("__call__", "label_scores", "rank_labels", "predict_top_k")


class ForwardClock:
    """Seconds spent inside the victim's network forward passes and inside its scoring methods.

    Patches, for the duration of :meth:`installed`, ``forward`` of the
    victim's network (of every level for a label tree: the tree's own beam
    glue counts as the wrapper's) and the wrapper class's scoring methods.
    Nested calls are counted once (a depth counter per clock).

    Usage::

        clock = ForwardClock(victim)
        with clock.installed():
            ...; clock.forward, clock.scoring   # seconds so far
    """

    def __init__(self, victim):
        self.victim = victim
        self.forward = 0.0
        self.scoring = 0.0
        self._depth = {"forward": 0, "scoring": 0}

    def reset(self) -> None:
        self.forward = self.scoring = 0.0

    def networks(self) -> List[torch.nn.Module]:
        model = self.victim.model
        levels = getattr(model, "levels", None)
        return list(levels) if levels is not None else [model]

    def _timed(self, function, kind: str):
        def timed(*args, **kwargs):
            self._depth[kind] += 1
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self._depth[kind] -= 1
                if not self._depth[kind]:
                    setattr(self, kind, getattr(self, kind) + time.perf_counter() - start)
        return timed

    @contextlib.contextmanager
    def installed(self) -> Iterator["ForwardClock"]:
        cls = type(self.victim)
        saved = {name: cls.__dict__[name] for name in SCORING_METHODS if name in cls.__dict__}
        inherited = [name for name in SCORING_METHODS if name not in saved and hasattr(cls, name)]
        for name in list(saved) + inherited:
            setattr(cls, name, self._timed(getattr(cls, name), "scoring"))
        networks = self.networks()
        for network in networks:  # an instance attribute: nn.Module.__call__ reads self.forward
            network.forward = self._timed(network.forward, "forward")
        try:
            yield self
        finally:
            for network in networks:
                del network.forward
            for name in inherited:
                delattr(cls, name)
            for name, function in saved.items():
                setattr(cls, name, function)


def choose_targets(victim, corpus, count, k):
    """The first ``count`` test documents with a true label in the top-k (the lowest-ranked one)."""
    targets = []
    for text, labels in zip(corpus.texts, corpus.labels):
        scores = victim([text])[0]
        order = torch.argsort(scores, descending=True, stable=True).tolist()[:k]
        true = [victim.labels.index(label) for label in labels if label in victim.labels]
        inside = [index for index in order if index in true]
        if inside:
            targets.append((text, labels, victim.labels[inside[-1]]))
        if len(targets) == count:
            break
    return targets


def recipe_runner(victim, k, threads):
    """Our recipe, built once: returns ``attack_one(target) -> (seconds, queries, success, ranking share)``."""
    from textattack_xmtc import XMTCPositive
    from textattack_xmtc.datasets import XMTCTarget
    from textattack.attack_results import SuccessfulAttackResult

    attack = XMTCPositive.build(victim, k=k, encoder="none", threads=threads)
    ranking = _time_word_ranking(attack.search_method)

    def attack_one(target):
        text, labels, label = target
        torch.set_num_threads(threads)
        ranking[0] = 0.0
        start = time.perf_counter()
        result = attack.attack(text, XMTCTarget(labels, label, k))
        seconds = time.perf_counter() - start
        return (seconds, result.perturbed_result.num_queries, isinstance(result, SuccessfulAttackResult),
                ranking[0] / seconds)

    return attack_one


def _time_word_ranking(search_method):
    """Seconds spent ranking words by leave-one-out, accumulated in the returned one-item list."""
    spent = [0.0]
    rank_words = search_method._get_index_order

    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return rank_words(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - start

    search_method._get_index_order = timed
    return spent


def paper_loop_runner(victim, k, threads, batch_size=32, max_change_rate=0.5, score=None):
    """adv-xmtc's greedy loop, one candidate text per model call, on the same candidates.

    ``score(texts) -> [len(texts), L]`` scores texts (default: the victim, our wrapper);
    the leave-one-out texts go to it ``batch_size`` at a time.
    """
    from textattack.shared import AttackedText
    from textattack_xmtc.shared import replace_word_fast
    from textattack_xmtc.transformations import WordSwapGloVeNeighbours, paper_stopwords

    swap = WordSwapGloVeNeighbours(max_candidates=48)
    stopwords = paper_stopwords()
    score = score or victim

    def attack_one(target):
        text, labels, label = target
        torch.set_num_threads(threads)
        start = time.perf_counter()
        target_index = victim.labels.index(label)
        words = AttackedText(text).words
        current = AttackedText(text)
        original_prob = float(score([text])[0, target_index])
        used = 1
        masked = [replace_word_fast(current, i, victim.unk_token).text for i in range(len(words))]
        leave_one = torch.cat([score(masked[i:i + batch_size]) for i in range(0, len(masked), batch_size)])
        used += len(masked)
        importance = original_prob - leave_one[:, target_index]
        order = torch.argsort(importance, descending=True, stable=True).tolist()
        ranked = time.perf_counter()
        changed, success, whitespace_words = 0, False, len(text.split(" "))
        for index in order:
            if changed > int(max_change_rate * whitespace_words) or success:
                break
            if words[index].lower() in stopwords:
                continue
            best_gap, best_text = 0.0, None  # keep a candidate only if it lowers the target below the original
            for candidate in swap._get_replacement_words(words[index]):
                trial = replace_word_fast(current, index, candidate)  # a cheap join, as the paper's
                scores = score([trial.text])[0]
                used += 1
                rank = int((scores > scores[target_index]).sum()) + 1
                if rank > k:
                    current, success = trial, True
                    break
                gap = original_prob - float(scores[target_index])
                if gap > best_gap:
                    best_gap, best_text = gap, trial
            if not success and best_text is not None:
                current, changed = best_text, changed + 1
        seconds = time.perf_counter() - start
        return seconds, used, success, (ranked - start) / seconds

    return attack_one


def paper_script_runner(victim, k, threads, clock=None):
    """The paper's loop scored as adv-xmtc's ``predict()`` scores, call by call (see :func:`paper_script_scorer`)."""
    score = paper_script_scorer(victim)
    if clock is not None:  # its tokenization counts as scoring, as the wrapper's does
        score = clock._timed(score, "scoring")
    return paper_loop_runner(victim, k, threads, batch_size=SCRIPT_BATCH_SIZE, score=score)


#: adv-xmtc's ``predict(..., batch_size=12)``: the leave-one-out texts go to the victim 12 at a time.
SCRIPT_BATCH_SIZE = 12


def paper_script_scorer(victim):
    """``score(texts) -> probabilities [len(texts), L]`` computed the way adv-xmtc's ``predict()`` does.

    What each call of the research script does, on the same weights:

    - AttentionXML (``utils/axml_scripts/predict_axml.py``): NLTK's word
      tokenizer on every text from scratch, lower-cased word tokens looked up
      in the vocabulary, rows padded to ``max_length``, the original network
      (a packed-sequence BiLSTM, every label's attention, PyTorch's own linear
      layers), sigmoid, scores copied to the CPU;
    - APLC-XLNet (``utils/aplc_scripts/predict_aplc.py``): SentencePiece on
      every text, every row left-padded to ``max_length`` (512 for the
      built-in model) with its mask, the network at that length.

    Left out, to the script's advantage: its ``DataLoader(num_workers=4)``
    (AttentionXML), which starts four worker processes on every call, and
    NLTK's sentence splitter (its punkt data are not offline here). The ids
    equal our wrapper's (checked on each text's first call).
    """
    from textattack_xmtc.model_wrappers.aplc_xlnet import APLCXLNetWrapper
    from textattack_xmtc.model_wrappers.attentionxml import AttentionXMLWrapper

    if isinstance(victim, AttentionXMLWrapper):
        return _axml_script_scorer(victim)
    if isinstance(victim, APLCXLNetWrapper):
        return _aplc_script_scorer(victim)
    return None


def _axml_script_scorer(victim):
    from nltk.tokenize import NLTKWordTokenizer
    from textattack_xmtc.models.tokenization import PAD_ID, UNK_ID, UNK_TOKEN

    treebank = NLTKWordTokenizer()
    vocab = {word: index for index, word in enumerate(victim.tokenizer.vocab)}
    max_length = victim.tokenizer.max_length
    checked = set()

    def ids_of(text):
        ids = []
        for position, piece in enumerate(text.split(UNK_TOKEN)):  # our unknown token, as the script's /UNK/
            if position:
                ids.append(UNK_ID)
            ids.extend(vocab.get(token.lower(), UNK_ID) for token in treebank.tokenize(piece)
                       if re.search(r"\w", token))
        return ids[:max_length] or [UNK_ID]

    def score(texts):
        rows = [ids_of(text) for text in texts]
        if texts[0] not in checked and len(checked) < 1000:
            checked.add(texts[0])
            assert rows[0] == victim.tokenizer.encode(texts[0]), "the script's ids differ from the wrapper's"
        input_ids = torch.tensor([row + [PAD_ID] * (max_length - len(row)) for row in rows])
        encoder = victim.model.lstm
        encoder.packed = True  # the original's pack_padded_sequence
        onednn = torch.backends.mkldnn.enabled
        torch.backends.mkldnn.enabled = False  # PyTorch's own F.linear, not our oneDNN kernels
        try:
            with torch.inference_mode():
                return torch.sigmoid(victim.model(input_ids)).cpu()
        finally:
            del encoder.packed
            torch.backends.mkldnn.enabled = onednn

    return score


def _aplc_script_scorer(victim):
    from model_speed import pad_to
    from textattack_xmtc.models.xlnet_tokenization import pad_left

    def score(texts):
        batch = pad_to(pad_left([victim.inputs.ids(text) for text in texts]), victim.max_length)
        with torch.no_grad():
            return victim.model(**batch).float().cpu()

    return score


def _with_threads(make_runner, threads, clock):
    return lambda victim, k: _measured(make_runner(victim, k, threads), clock)


def _measured(attack_one, clock):
    """``attack_one`` whose result also holds the forward and scoring seconds and the peak memory growth (MB)."""
    def measured(target):
        # Each method starts from a clean heap: the methods take turns, and the freed memory one
        # leaves behind (the loop's dense scores on a tree: 0.5 GB) must not be returned to the OS
        # on the other's time (ours trims after each example).
        gc.collect()
        release_freed_memory()
        clock.reset()
        before = rss_mb()
        reset_peak()
        result = attack_one(target)
        return (*result, clock.forward, clock.scoring, peak_mb() - before)
    return measured


def forward_cost(victim, targets, batch_size=32, documents=5):
    """Seconds per text of the victim alone: one text per call versus ``batch_size`` per call.

    Each batch is what an attack sends: one document with the unknown token
    at ``batch_size`` consecutive words (its leave-one-out texts). The ratio
    bounds what batching alone can gain for this victim on this device.
    """
    from textattack.shared import AttackedText
    from textattack_xmtc.shared import replace_word_fast

    single = batched = 0.0
    for text, _, _ in targets[:documents]:
        document = AttackedText(text)
        first = max(0, document.num_words // 2 - batch_size // 2)
        batch = [replace_word_fast(document, i, victim.unk_token).text
                 for i in range(first, min(document.num_words, first + batch_size))]
        victim(batch)  # warm-up
        start = time.perf_counter()
        for one in batch:
            victim([one])
        middle = time.perf_counter()
        victim(batch)
        single += (middle - start) / len(batch)
        batched += (time.perf_counter() - middle) / len(batch)
    return single / documents, batched / documents


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="attentionxml-reuters21578", help="victim MODEL")
    parser.add_argument("--data", default="reuters21578", help="corpus to take test documents from")
    parser.add_argument("--targets", type=int, default=20, help="number of targets")
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--threads", type=int, nargs="+", default=[1],
                        help="torch CPU threads; several values compare them (default: 1)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="passes over the targets, the methods taking turns on each target "
                             "(default: 3); each target's time is its median over the passes")
    parser.add_argument("--words", type=int, default=100,
                        help="synthetic-tree-*: words per synthetic document (default 100)")
    parser.add_argument("--top", type=int, default=160, help="synthetic-tree-*: beam width (default 160)")
    parser.add_argument("--no-script", dest="script", action="store_false",
                        help="leave out the third method, the paper's loop scored as the research script scores "
                             "(built-in AttentionXML and APLC-XLNet only)")
    args = parser.parse_args()
    if args.targets < 1 or args.repeats < 1 or args.k < 1 or args.words < 1 or args.top < 1:
        parser.exit(2, "attack_speed.py: --targets, --repeats, --k, --words and --top must be positive\n")

    victim, targets = load_victim_and_targets(args, parser)
    clock = ForwardClock(victim)
    kinds = [("xmtc-pos (ours)", recipe_runner), ("paper's loop", paper_loop_runner)]
    if args.script and paper_script_scorer(victim) is not None:
        kinds.append(("paper's script", lambda v, k, threads: paper_script_runner(v, k, threads, clock)))
    methods = [(f"{name}, {threads} thr", _with_threads(make_runner, threads, clock))
               for threads in args.threads for name, make_runner in kinds]
    with clock.installed():
        run_methods(args, victim, targets, methods, clock, group=len(kinds))


def load_victim_and_targets(args, parser):
    """The victim and its ``(text, true labels, target)`` triples, for a built-in/path or a synthetic tree."""
    synthetic = SYNTHETIC.match(args.model)
    if synthetic:
        import synthetic_tree

        count = int(synthetic.group("count")) * {"": 1, "k": 1000, "m": 10 ** 6}[synthetic.group("unit")]
        if count == 670_000:  # the name says 670k; the size is Amazon-670K's
            count = synthetic_tree.AMAZON_670K
        if count < 2:
            parser.exit(2, f"attack_speed.py: --model {args.model}: a tree needs at least 2 labels\n")
        victim = synthetic_tree.build_tree_victim(count, top=args.top)
        documents = synthetic_tree.synthetic_documents(victim, args.targets, args.words)
        rows = synthetic_tree.choose_targets(victim, documents, k=args.k)
        print(synthetic_tree.describe_size(victim))
        return victim, [(row["text"], row["labels"], row["target"]) for row in rows]
    from textattack_xmtc.datasets import load_corpus
    from textattack_xmtc.errors import ModelLoadError
    from textattack_xmtc.model_wrappers import load_victim

    try:
        victim = load_victim(args.model)
    except ModelLoadError as error:
        parser.exit(2, f"attack_speed.py: --model {args.model}: {error} (or synthetic-tree-670k)\n")
    return victim, choose_targets(victim, load_corpus(args.data, split="test"), args.targets, args.k)


def run_methods(args, victim, targets, methods, clock, group: int = 2) -> None:
    """Warm up, run every method on every target in turns, print the tables.

    ``methods`` come in groups of ``group`` per thread count, ours first in each.
    """
    warm_up = min(targets, key=lambda target: len(target[0]))  # the shortest: the script is slow on long ones
    for _, make_runner in methods:
        make_runner(victim, args.k)(warm_up)  # GloVe index, caches, threads
    loaded = rss_mb()
    # A shared machine's speed drifts over seconds, so the methods take turns on every
    # target (the first to go alternates) and each target's time is its median over passes.
    runs = {name: [[] for _ in targets] for name, _ in methods}  # name -> per target -> per pass
    for repeat in range(args.repeats):
        runners = [(name, make_runner(victim, args.k)) for name, make_runner in methods]
        for number, target in enumerate(tqdm(targets, desc=f"pass {repeat + 1}/{args.repeats}", leave=False)):
            turn = runners[(number + repeat) % len(runners):] + runners[:(number + repeat) % len(runners)]
            for name, attack_one in turn:
                runs[name][number].append(attack_one(target))
    target_times = {name: [statistics.median(run[0] for run in per_target) for per_target in per_method]
                    for name, per_method in runs.items()}
    rows = []
    for name, _ in methods:
        times = target_times[name]
        first_pass = [per_target[0] for per_target in runs[name]]
        pass_medians = ", ".join(f"{statistics.median(per_target[p][0] for per_target in runs[name]):.3f}"
                                 for p in range(args.repeats))
        every = [run for per_target in runs[name] for run in per_target]
        wall = sum(run[0] for run in every)
        rows.append((name, statistics.median(times), statistics.mean(times),
                     statistics.median(run[1] for run in first_pass),
                     sum(run[2] for run in first_pass) / len(targets), pass_medians,
                     sum(run[4] for run in every) / wall, sum(run[5] for run in every) / wall,
                     max(run[6] for run in every)))

    print(machine_line())
    print(f"victim: {victim.describe()}  device: {victim.device}  targets: {len(targets)}  k={args.k}  "
          f"passes: {args.repeats}  RSS after warm-up: {loaded:.0f} MB")
    print(f"{'method':<34} {'median s/target':>16} {'mean s/target':>14} {'median queries':>15} "
          f"{'success rate':>13} {'forward':>8} {'scoring':>8} {'peak +MB':>9}   median of each pass")
    for name, median_seconds, mean_seconds, median_queries, rate, pass_medians, forward, scoring, peak in rows:
        print(f"{name:<34} {median_seconds:>16.3f} {mean_seconds:>14.3f} {median_queries:>15.0f} "
              f"{rate:>13.2%} {forward:>8.1%} {scoring:>8.1%} {peak:>+9.1f}   {pass_medians}")
    print("forward: share of wall time inside the network's forward passes; scoring: inside the wrapper's "
          "scoring calls (forward, tokenization, score reduction); peak +MB: the largest growth of one target")
    for name, make_runner in methods[::group]:  # ours at each thread count, once more with nothing in between
        attack_one = make_runner(victim, args.k)
        alone = [attack_one(target) for target in targets]
        wall = sum(run[0] for run in alone)
        print(f"{name}, one more pass alone (the loop not taking turns): forward "
              f"{sum(run[4] for run in alone) / wall:.1%}, scoring {sum(run[5] for run in alone) / wall:.1%}")
    names = list(target_times)
    for first in range(0, len(rows), group):  # ours against each other method at one thread count
        ours = rows[first]
        for other in range(first + 1, first + group):
            theirs = rows[other]
            per_target = statistics.median(b / a for a, b in zip(target_times[names[first]],
                                                                 target_times[names[other]]))
            print(f"speed-up over {theirs[0]}: {theirs[1] / ours[1]:.1f}x (median time), "
                  f"{theirs[2] / ours[2]:.1f}x (mean time); median of the per-target speed-ups: {per_target:.1f}x")
    for first in range(group, len(rows), group):
        print(f"ours at {args.threads[first // group]} threads / at {args.threads[0]}: "
              f"{rows[first][1] / rows[0][1]:.2f}x the median time, {rows[first][2] / rows[0][2]:.2f}x the mean")
    for name, _ in methods:  # what the target(s) at each method's median spend their time on
        times, shares = target_times[name], [per_target[-1][3] for per_target in runs[name]]
        middle = sorted(range(len(times)), key=times.__getitem__)[(len(times) - 1) // 2:len(times) // 2 + 1]
        print(f"{name}, at its median: " + "; ".join(
            f"{times[i]:.3f} s on a {len(targets[i][0].split())}-word text, {shares[i]:.0%} of it ranking "
            f"words by leave-one-out" for i in middle))
    torch.set_num_threads(args.threads[0])
    single, batched = forward_cost(victim, targets)
    print(f"victim forward per text: {single * 1e3:.2f} ms one per call, {batched * 1e3:.2f} ms "
          f"32 per call at {args.threads[0]} thread(s) (batching alone can gain at most ~{single / batched:.1f}x here)")


if __name__ == "__main__":
    main()
