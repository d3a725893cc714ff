"""Adversarial training (``train --adversarial-from`` / ``--adversarial-rounds``): documents, checks, rounds."""
import argparse
import hashlib
import json
import random
import re

import pytest

from textattack_xmtc.datasets.corpus import Corpus
from textattack_xmtc.training.adversarial import (
    AdversarialDocuments,
    AdversarialSettings,
    AdversarialTrainingError,
    adversarial_training,
    augmented_corpus,
    parse_round_recipe,
    read_adversarial_documents,
    round_seed,
    select_training_targets,
    count_test_overlap as overlap_count,
)

# Real words, so that the attacks' GloVe neighbours exist; 8 labels, so that k=5 leaves labels out.
KEYWORDS = {"oil": ["oil", "crude", "petroleum"], "wheat": ["wheat", "grain", "corn"],
            "gold": ["gold", "silver", "metal"], "bank": ["bank", "loan", "credit"],
            "ship": ["ship", "port", "vessel"], "coffee": ["coffee", "cocoa", "sugar"],
            "jobs": ["jobs", "unemployment", "workers"], "trade": ["trade", "export", "tariff"]}
FILLER = ("the company said on monday that prices would rise next year after a strong quarter while analysts "
          "expected lower demand from markets in europe and asia").split()
TINY = dict(emb_size=16, hidden_size=16, linear_size=[32], glove_init=False, progress=False, log=lambda _: None)


def news_corpus(documents, seed, name):
    """Eight filler words and one keyword per label (every third document has two labels)."""
    rng = random.Random(seed)
    names = sorted(KEYWORDS)
    texts, labels = [], []
    for number in range(documents):
        chosen = sorted(rng.sample(names, 1 + (number % 3 == 0)))
        words = rng.sample(FILLER, 8) + [rng.choice(KEYWORDS[name]) for name in chosen]
        rng.shuffle(words)
        texts.append(" ".join(words))
        labels.append(chosen)
    return Corpus(texts, labels, name=name)


def sha(labels):
    return hashlib.sha256("\n".join(labels).encode("utf-8")).hexdigest()


def write_run(path, rows, labels=tuple(sorted(KEYWORDS)), num_labels=None, labels_hash=None):
    """A run directory as `experiment` writes it (only the fields adversarial training reads)."""
    path.mkdir(parents=True)
    victim = {"num_labels": len(labels) if num_labels is None else num_labels,
              "labels_sha256": labels_hash or sha(labels)}
    (path / "run.json").write_text(json.dumps({"format": "textattack-xmtc-run", "version": 1, "model": "m",
                                               "victim": victim, "recipe": "xmtc-pos"}))
    (path / "results.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def row(status, perturbed, labels, original="an original text"):
    return {"status": status, "original_text": original, "perturbed_text": perturbed, "true_labels": labels,
            "label": labels[0], "attack_kind": "pos", "words": 3}


TRAIN = Corpus(["oil crude text", "wheat grain", "gold", "bank loan", "ship", "coffee", "jobs", "trade tariff"],
               [[name] for name in sorted(KEYWORDS)], name="small")


# -- reading run directories ----------------------------------------------------------------

def test_documents_are_the_successes_with_their_original_labels_once(tmp_path):
    run = write_run(tmp_path / "run", [
        row("succeeded", "oil crude txet", ["bank"]),
        row("succeeded", "oil crude txet", ["bank"]),  # the same document again
        row("succeeded", "oil crude txet", ["bank", "gold"]),  # the same text with other labels
        row("failed", "failed text", ["gold"]),
        row("skipped", "skipped text", ["gold"]),
        row("succeeded", "wheat grian", ["wheat"], original="wheat grain"),
    ])
    documents = read_adversarial_documents(run, TRAIN)
    assert documents.texts == ["oil crude txet", "oil crude txet", "wheat grian"]
    assert documents.labels == [["bank"], ["bank", "gold"], ["wheat"]]
    assert documents.originals == ["an original text", "an original text", "wheat grain"]
    assert documents.runs == [str(run)]

    corpus = augmented_corpus(TRAIN, documents)
    assert len(corpus) == len(TRAIN) + 3
    assert corpus.texts[-3:] == documents.texts and corpus.labels[-3:] == documents.labels
    assert corpus.texts[:len(TRAIN)] == TRAIN.texts and corpus.name == TRAIN.name
    assert corpus.label_names() == TRAIN.label_names()


def test_documents_of_several_runs_are_deduplicated_across_runs():
    first = AdversarialDocuments(["a", "b"], [["x"], ["y"]], ["o", "o"], ["r1"])
    second = AdversarialDocuments(["b", "c"], [["y"], ["x"]], ["o", "o"], ["r2"])
    assert first.extend(second) == 1
    assert (first.texts, first.runs) == (["a", "b", "c"], ["r1", "r2"])


def test_a_run_without_success_is_a_warning_and_adds_nothing(tmp_path):
    run = write_run(tmp_path / "run", [row("failed", "t", ["oil"])])
    warnings = []
    assert len(read_adversarial_documents(run, TRAIN, warnings.append)) == 0
    assert warnings == [f"warning: {run} has no successful attack (1 rows): it adds no adversarial document"]


def test_another_label_set_is_refused_naming_the_run(tmp_path):
    unknown_label = write_run(tmp_path / "other", [row("succeeded", "text", ["oil", "sports"])],
                              labels=("oil", "sports"))
    with pytest.raises(AdversarialTrainingError, match=r"^--adversarial-from .*other was made on another label "
                                                        r"set \(model 'm'\): its documents carry label\(s\) "
                                                        r"'sports'"):
        read_adversarial_documents(unknown_label, TRAIN)
    more_labels = write_run(tmp_path / "more", [row("succeeded", "text", ["oil"])],
                            labels=(*sorted(KEYWORDS), "sports"))
    with pytest.raises(AdversarialTrainingError, match=r"more was made on another label set: its model 'm' has 9 "
                                                       r"labels .*, the training data 8"):
        read_adversarial_documents(more_labels, TRAIN)


def test_label_sets_are_compared_as_sets(tmp_path):
    """APLC-XLNet orders its labels by frequency: that hash is the same label set."""
    train = Corpus(["a", "b", "c"], [["y"], ["y"], ["x"]])
    by_frequency = write_run(tmp_path / "aplc", [row("succeeded", "t", ["x"])], labels=("y", "x"))
    assert len(read_adversarial_documents(by_frequency, train)) == 1
    # Another order (a labels.txt of the user's), same number of labels: the names of the rows decide.
    other_order = write_run(tmp_path / "order", [row("succeeded", "t", ["x"])], labels_hash="0" * 64)
    assert len(read_adversarial_documents(other_order, Corpus(["a"] * 8, [[n] for n in "xabcdefg"]))) == 1


def test_paths_that_are_not_run_directories_are_clear_errors(tmp_path):
    with pytest.raises(AdversarialTrainingError, match=r"^--adversarial-from .*typo: no such directory"):
        read_adversarial_documents(tmp_path / "typo", TRAIN)
    (tmp_path / "plain").mkdir()
    with pytest.raises(AdversarialTrainingError, match=r"plain is not a run directory \(no run.json\)"):
        read_adversarial_documents(tmp_path / "plain", TRAIN)
    (tmp_path / "file.jsonl").write_text("{}\n")
    with pytest.raises(AdversarialTrainingError, match=r"file.jsonl is not a run directory"):
        read_adversarial_documents(tmp_path / "file.jsonl", TRAIN)


@pytest.mark.parametrize("line, problem", [
    ("{not json", "is not a JSON row"),
    ('{"status": "succeeded", "score": NaN}', "is not a JSON row"),
    ('["a list"]', "is not a result row"),
    ('{"status": "succeeded", "true_labels": ["oil"]}', 'is a success without a "perturbed_text"'),
    ('{"status": "succeeded", "perturbed_text": "t", "true_labels": "oil"}', "has true_labels = 'oil'"),
])
def test_a_damaged_line_is_named_with_file_and_line(tmp_path, line, problem):
    run = write_run(tmp_path / "run", [row("failed", "t", ["oil"])])
    with open(run / "results.jsonl", "a") as results:
        results.write("\n" + line + "\n")
    with pytest.raises(AdversarialTrainingError) as error:
        read_adversarial_documents(run, TRAIN)
    assert str(error.value).startswith(f"{run / 'results.jsonl'}:3 {problem}")


@pytest.mark.parametrize("line, message", [
    ('{"status": "succeeded", "score": -Infinity}', r"is not a JSON row \(-Infinity is not a number a run writes\): "
     r"the results file is damaged \(resume or redo that run\)$"),
    ("{not json", r"is not a JSON row \(Expecting property name .*\): the results file is damaged "
     r"\(resume or redo that run\)$"),
    ('["a list"]', r'is not a result row \(no text "status"\): the results file is damaged$'),
])
def test_the_first_bad_line_is_named_whatever_its_damage(tmp_path, line, message):
    run = write_run(tmp_path / "run", [row("failed", "t", ["oil"])])
    with open(run / "results.jsonl", "a") as results:
        results.write("\n" + line + "\n{later damage\n")
    with pytest.raises(AdversarialTrainingError, match=f"^{re.escape(str(run / 'results.jsonl'))}:3 " + message):
        read_adversarial_documents(run, TRAIN)
    no_status = write_run(tmp_path / "no-status", [row("failed", "t", ["oil"]), {"words": 3}])
    with open(no_status / "results.jsonl", "a") as results:
        results.write(line + "\n")
    with pytest.raises(AdversarialTrainingError, match=r"results.jsonl:2 is not a result row \(no text \"status\"\)"):
        read_adversarial_documents(no_status, TRAIN)
    assert len(read_adversarial_documents(write_run(tmp_path / "unwritten", []), TRAIN)) == 0  # no rows yet


def test_documents_made_from_test_documents_are_counted():
    documents = AdversarialDocuments(["x1", "x2", "x3"], [["a"]] * 3, ["test one", "train one", "test two"])
    assert overlap_count(documents, Corpus(["test one", "test two"], [["a"], ["a"]])) == 2
    assert overlap_count(documents, None) == 0


def test_round_recipes_are_parsed_as_experiment_parses_them():
    assert parse_round_recipe('xmtc-pos^encoder="none",k=1') == ("xmtc-pos", {"encoder": "none", "k": 1})
    with pytest.raises(AdversarialTrainingError, match=r"^--adversarial-recipe: --recipe xmtc-pos\^colour=1: "
                                                       r"unknown recipe option 'colour'"):
        parse_round_recipe("xmtc-pos^colour=1")
    with pytest.raises(AdversarialTrainingError, match=r"choose xmtc-pos or xmtc-untargeted"):
        parse_round_recipe("xmtc-neg")


# -- training with adversarial documents ----------------------------------------------------

@pytest.fixture(scope="module")
def data():
    return news_corpus(80, seed=0, name="news-train"), news_corpus(20, seed=1, name="news-test")


def train_tiny(test):
    from textattack_xmtc.training.attentionxml import train_attentionxml

    return lambda corpus: train_attentionxml(corpus, test, epochs=10, batch_size=16, lr=1e-2, seed=0, **TINY)


def test_training_targets_are_positive_pairs_drawn_with_the_seed(data):
    train, test = data
    wrapper, _ = train_tiny(None)(train)
    rows = select_training_targets(wrapper, train, 6, k=2, seed=round_seed(0, 1))
    assert rows == select_training_targets(wrapper, train, 6, k=2, seed=round_seed(0, 1))
    assert rows != select_training_targets(wrapper, train, 6, k=2, seed=round_seed(0, 2))
    assert len(rows) == 6 and {row["attack"] for row in rows} == {"pos"}
    for target in rows:
        assert train.texts[target["document"]] == target["text"] and target["target"] in target["labels"]
    with pytest.raises(AdversarialTrainingError, match="k=8 but the model has only 8 labels"):
        select_training_targets(wrapper, train, 6, k=8, seed=0)


def test_train_with_adversarial_from_records_it(data, tmp_path, capsys):
    from textattack_xmtc.model_wrappers import load_victim
    from textattack_xmtc.training.cli import add_train_arguments, run_train

    train, test = data
    path = tmp_path / "train.jsonl"
    path.write_text("".join(json.dumps({"text": text, "labels": labels}) + "\n"
                            for text, labels in zip(train.texts, train.labels)))
    run = write_run(tmp_path / "run", [row("succeeded", "the oil company said prices", ["oil"]),
                                       row("succeeded", "grain exports fell", ["wheat", "trade"]),
                                       row("failed", "x", ["gold"])])
    args = add_train_arguments(argparse.ArgumentParser()).parse_args(
        ["--data", str(path), "--output", str(tmp_path / "model"), "--epochs", "1", "--hidden-size", "4",
         "--emb-size", "4", "--linear-size", "4", "--no-glove", "--quiet", "--adversarial-from", str(run)])
    assert run_train(args) == 0
    assert "2 adversarial documents from 1 run(s): training on 82 documents" in capsys.readouterr().out
    loaded = load_victim(str(tmp_path / "model"))
    assert loaded.training["adversarial"] == {"documents": 2, "rounds": 0, "runs": [str(run)], "recipe": None,
                                              "targets_per_round": None}
    assert loaded.training["documents"] == 82
    assert loaded.identity()["adversarial"] == "1 run, 2 adversarial documents"


def test_documents_made_from_test_documents_are_a_warning_with_the_count(tmp_path):
    """Targets drawn from the test split: the test metrics are no longer held out."""
    train = Corpus(["a b", "c d", "e f"], [["x"], ["y"], ["x"]])
    test = Corpus(["held out one", "held out two"], [["x"], ["y"]])
    run = write_run(tmp_path / "run", [row("succeeded", "held out 1", ["x"], original="held out one"),
                                       row("succeeded", "held out 2", ["y"], original="held out two"),
                                       row("succeeded", "a bee", ["x"], original="a b")], labels=("x", "y"))
    trained, warnings, lines = [], [], []

    class Model:
        training = {}

    def train_model(corpus):
        trained.append(corpus)
        return Model(), {}

    result = adversarial_training(train, test, train_model, AdversarialSettings(from_runs=[str(run)]), tmp_path,
                                  log=lines.append, warn=warnings.append)
    assert warnings == [f"warning: 2 adversarial document(s) of {run} were made from test documents: the test "
                        "metrics are no longer held out"]
    assert [len(corpus) for corpus in trained] == [6]  # trained once, on train + 3 documents
    assert lines == ["3 adversarial documents from 1 run(s): training on 6 documents"]
    assert result.wrapper.training["adversarial"] == {"documents": 3, "rounds": 0, "runs": [str(run)],
                                                      "recipe": None, "targets_per_round": None}
    assert not (tmp_path / "adversarial").exists()


def test_a_k_that_holds_every_label_is_refused_before_training(tmp_path):
    def train_model(corpus):
        raise AssertionError("trained before the options were checked")

    settings = AdversarialSettings(rounds=1, recipe="xmtc-pos^k=8")
    with pytest.raises(AdversarialTrainingError, match=r"k=8 but the training data has only 8 labels.*"
                                                       r"'xmtc-pos\^k=7'"):
        adversarial_training(TRAIN, None, train_model, settings, tmp_path)
    settings = AdversarialSettings(rounds=1, recipe="xmtc-pos^k=")
    with pytest.raises(AdversarialTrainingError, match=r"^--adversarial-recipe: "):
        adversarial_training(TRAIN, None, train_model, settings, tmp_path)


ROUND_RECIPE = 'xmtc-pos^encoder="none",k=1'


def one_round(data, output):
    train, test = data
    lines = []
    settings = AdversarialSettings(rounds=1, targets=5, recipe=ROUND_RECIPE, seed=0, progress=False)
    with pytest.MonkeyPatch.context() as patch:
        for name in [name for name in __import__("os").environ if name.startswith("XMTC_")]:
            patch.delenv(name)
        result = adversarial_training(train, test, train_tiny(test), settings, output, {"data": "news"},
                                      log=lines.append)
    return result, lines


@pytest.fixture(scope="module")
def first_round(data, tmp_path_factory):
    output = tmp_path_factory.mktemp("round")
    return (output, *one_round(data, output))


def test_one_round_attacks_the_training_split_and_retrains(data, first_round):
    from textattack_xmtc.study.report import read_run

    train, _ = data
    output, result, lines = first_round
    round_dir = output / "adversarial" / "round-1"
    run = read_run(round_dir)  # a normal run directory: `report` reads it
    successes = [r for r in run.rows if r["status"] == "succeeded"]
    assert len(run.rows) == 5 and successes, "the tiny model should give way to some attacks"
    assert run.meta["model"] == str(output / "adversarial" / "victim-0")
    assert run.meta["victim"]["adversarial"] == ""  # round 0: a plainly trained model
    assert all(r["original_text"] in train.texts for r in run.rows)  # targets of the TRAINING split
    assert result.documents.texts == list(dict.fromkeys(r["perturbed_text"] for r in successes))
    assert result.corpus.texts == train.texts + result.documents.texts
    assert result.wrapper.training["documents"] == len(train) + len(result.documents)
    assert result.wrapper.training["adversarial"] == {
        "documents": len(result.documents), "rounds": 1, "runs": [str(round_dir)],
        "recipe": ROUND_RECIPE, "targets_per_round": 5}
    assert result.wrapper.training["data"] == "news"
    assert result.wrapper.identity()["adversarial"] == f"1 round, {len(result.documents)} adversarial document" + \
        ("" if len(result.documents) == 1 else "s")
    assert lines[-1].startswith(f"adversarial round 1/1: 5 targets attacked, {len(successes)} succeeded "
                                f"({100 * len(successes) / 5:.1f}%), {len(result.documents)} documents added "
                                f"({len(result.documents)} in all); test P@1 ")
    assert "PSP@5" in lines[-1]


def test_rounds_are_deterministic_for_a_seed(data, first_round, tmp_path):
    output, result, _ = first_round
    again, _ = one_round(data, tmp_path)

    def rows(folder):
        lines = (folder / "adversarial" / "round-1" / "results.jsonl").read_text().splitlines()
        parsed = [json.loads(line) for line in lines]
        # Wall time, and the paths of the targets file and the victim, differ; nothing else may.
        return [{**{key: value for key, value in row.items() if key not in ("seconds", "source", "victim")},
                 "weights": row["victim"]["weights_sha256"]} for row in parsed]

    assert rows(tmp_path) == rows(output)
    assert (tmp_path / "adversarial" / "targets-1.jsonl").read_text() == \
        (output / "adversarial" / "targets-1.jsonl").read_text()
    assert again.wrapper.weights_sha256() == result.wrapper.weights_sha256()
