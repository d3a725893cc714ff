"""Training a small label-tree AttentionXML: it learns (well above the same tree untrained), candidates always hold
the positives, saving and loading keep its predictions, `textattack-xmtc train --architecture attentionxml-tree`
writes a directory the stock `textattack attack` and `textattack-xmtc evaluate` run on, and bad options are one
line naming the option."""
import argparse
import random

import numpy as np
import pytest
import torch

from commands import require_install, run, write_targets  # noqa: F401  (fixture)
from textattack_xmtc.datasets import Corpus
from textattack_xmtc.model_wrappers import load_victim
from textattack_xmtc.model_wrappers.attentionxml_tree import AttentionXMLTreeWrapper
from textattack_xmtc.training import cli
from textattack_xmtc.training.attentionxml_tree import (_candidate_lists, check_train_options,
                                                        train_attentionxml_tree)
from textattack_xmtc.training.clustering import TreeShapeError, node_paths
from textattack_xmtc.training.evaluation import evaluate

pytestmark = pytest.mark.usefixtures("one_torch_thread")

FILLER = ("the said market report on monday officials were of a to in and for with as by at from that "
          "this it its was be are has have had not but").split()
# Four topics of four labels; a document names one topic (a topic word) and one or two of its labels.
TOPICS = {"metals": ["iron", "copper", "zinc", "nickel"], "crops": ["wheat", "corn", "barley", "rice"],
          "energy": ["crude", "gas", "coal", "uranium"], "money": ["dollar", "yen", "franc", "peso"]}
TOPIC_WORDS = {"metals": ["mine", "smelter"], "crops": ["harvest", "farm"], "energy": ["pipeline", "refinery"],
               "money": ["bank", "currency"]}
SMALL = dict(emb_size=16, hidden_size=16, linear_size=[16], glove_init=False, batch_size=16, lr=1e-2,
             cluster_size=2, levels=3, top=2, progress=False, log=lambda _: None)


def topic_corpus(size, seed, name="topics"):
    rng = random.Random(seed)
    texts, labels = [], []
    for _ in range(size):
        topic = rng.choice(sorted(TOPICS))
        chosen = rng.sample(TOPICS[topic], rng.choice([1, 1, 2]))
        words = rng.sample(FILLER, 6) + [rng.choice(TOPIC_WORDS[topic])] + chosen
        rng.shuffle(words)
        texts.append(" ".join(words))
        labels.append(chosen)
    return Corpus(texts, labels, name=name)


@pytest.fixture(scope="module")
def trained():
    """A 3-level tree (2 top clusters, 8 leaf clusters of 2 labels, 16 labels), beam 2, 12 epochs per level."""
    train, test = topic_corpus(300, 0, "topics-train"), topic_corpus(80, 1, "topics-test")
    wrapper, metrics = train_attentionxml_tree(train, test, epochs=12, seed=0, **SMALL)
    return wrapper, metrics, train, test


def test_the_tree_learns_well_above_the_same_tree_untrained(trained):
    """Seed 0: P@1 0.95 trained against 0.09 untrained (the same clusters, 0 epochs); training seeds 0-3 gave
    0.95, 0.90, 1.0, 1.0 (8 epochs: 0.85, 0.75, 0.99, 0.94)."""
    wrapper, metrics, train, test = trained
    untrained, _ = train_attentionxml_tree(train, None, epochs=0, seed=0, **SMALL)
    baseline = evaluate(untrained, test)["P@1"]
    assert metrics["P@1"] >= 0.8 and metrics["P@1"] >= baseline + 0.5, (metrics["P@1"], baseline)
    assert wrapper.model.sizes == [2, 8, 16] and wrapper.top == 2
    record = wrapper.training
    assert record["tree"]["sizes"] == [2, 8, 16] and record["loss"] == {"name": "bce"}
    assert all(np.isfinite(loss) for loss in record["tree"]["final_losses"])
    assert record["metrics"]["P@1"] == pytest.approx(metrics["P@1"], abs=1e-6)


def test_the_clusters_follow_the_topics(trained):
    """Labels of one topic share a top cluster: what balanced 2-means on TF-IDF features should find."""
    wrapper = trained[0]
    children = [[row[row < wrapper.model.sizes[level + 1]].numpy() for row in wrapper.model.children_of(level)[:-1]]
                for level in range(2)]
    top = node_paths(children, 16)[0]
    index = {label: i for i, label in enumerate(wrapper.labels)}
    for members in TOPICS.values():
        assert len({int(top[index[label]]) for label in members}) == 1, members


def test_candidates_are_the_children_of_predicted_and_true_nodes():
    groups = [np.array([0, 1]), np.array([2, 3]), np.array([4])]
    predicted = np.array([[2, 3], [0, 3]])  # 3 is the beam's pad (no node)
    lists = _candidate_lists(predicted, [np.array([0]), np.array([], dtype=np.int64)], groups)
    assert [c.tolist() for c in lists] == [[0, 1, 4], [0, 1]]


def test_same_seed_same_tree():
    train = topic_corpus(60, 2)
    first, _ = train_attentionxml_tree(train, None, epochs=1, seed=3, **SMALL)
    again, _ = train_attentionxml_tree(train, None, epochs=1, seed=3, **SMALL)
    assert first.weights_sha256() == again.weights_sha256()


def test_save_and_load_give_identical_predictions(trained, tmp_path):
    wrapper, _, _, test = trained
    wrapper.save(tmp_path / "tree")
    names = {path.name for path in (tmp_path / "tree").iterdir()}
    assert {"xmtc_model.json", "labels.txt", "vocab.npy", "level-0.pt", "level-2.pt", "children-1.npy"} <= names
    children = np.load(tmp_path / "tree" / "children-1.npy", allow_pickle=False)
    assert children.dtype == np.int64 and children.shape == (8, 2)
    loaded = load_victim(str(tmp_path / "tree"))
    assert isinstance(loaded, AttentionXMLTreeWrapper) and loaded.top == 2
    assert loaded.identity()["architecture"] == "attentionxml-tree"
    assert loaded.weights_sha256() == wrapper.weights_sha256() and loaded.labels == wrapper.labels
    texts = test.texts[:20]
    for k in (1, 5):
        expected, loaded_top = wrapper.predict_top_k(texts, k), loaded.predict_top_k(texts, k)
        assert torch.equal(expected[0], loaded_top[0]) and torch.equal(expected[1], loaded_top[1])
    assert torch.equal(wrapper(texts), loaded(texts))
    assert loaded.training["tree"] == wrapper.training["tree"]
    wider = load_victim(str(tmp_path / "tree") + "^top=8")
    assert wider.top == 8 and load_victim(str(tmp_path / "tree") + "^max_length=3").tokenizer.max_length == 3


def test_a_damaged_children_file_is_an_error_naming_it(trained, tmp_path):
    wrapper = trained[0]
    wrapper.save(tmp_path / "tree")
    children = np.load(tmp_path / "tree" / "children-1.npy")
    children[0, 0] = children[1, 0]  # a label under two clusters
    np.save(tmp_path / "tree" / "children-1.npy", children)
    with pytest.raises(Exception, match="children-1.npy"):
        load_victim(str(tmp_path / "tree"))


@pytest.mark.parametrize("options,message", [
    (dict(cluster_size=1), "--cluster-size must be an integer of at least 2, got 1"),
    (dict(top=0), "--top must be a positive integer"),
    (dict(levels=1), "--levels must be an integer of at least 2, got 1"),
    (dict(loss="pw"), "--loss pw: a label tree trains with bce only"),
])
def test_bad_options_are_refused_before_training(options, message):
    with pytest.raises(ValueError, match=message):
        check_train_options(options)
    with pytest.raises(ValueError, match=message):
        train_attentionxml_tree(topic_corpus(20, 0), None, epochs=1, **{**SMALL, **options})


def test_more_levels_than_the_labels_allow_names_levels():
    with pytest.raises(TreeShapeError, match="--levels 5: 16 labels in clusters of at most --cluster-size 2 "
                                             "allow 4 level"):
        train_attentionxml_tree(topic_corpus(60, 0), None, epochs=1, **{**SMALL, "levels": 5})


# ----------------------------------------------------------------- the commands


def write_split(directory, split, corpus):
    (directory / f"{split}_texts.txt").write_text("".join(text + "\n" for text in corpus.texts))
    (directory / f"{split}_labels.txt").write_text("".join(" ".join(labels) + "\n" for labels in corpus.labels))


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tree-data")
    write_split(directory, "train", topic_corpus(300, 0))
    write_split(directory, "test", topic_corpus(40, 1))
    return directory


TREE_TRAIN = ("--epochs", "12", "--batch-size", "16", "--lr", "0.01", "--emb-size", "16", "--hidden-size", "16",
              "--linear-size", "16", "--no-glove", "--cluster-size", "2", "--top", "2", "--quiet")


def test_train_help_lists_the_tree_options():
    help_text = " ".join(cli.add_train_arguments(argparse.ArgumentParser()).format_help().split())
    assert "FastAttentionXML label tree options" in help_text
    for flag in ("--cluster-size", "--levels", "--top"):
        assert flag in help_text
    assert "attentionxml-tree 8 per level" in help_text


def test_the_tree_takes_attentionxml_options_but_not_aplc_ones(tmp_path, capsys):
    parser = cli.add_train_arguments(argparse.ArgumentParser())
    args = parser.parse_args(["--data", "x", "--output", "y", "--architecture", "attentionxml-tree", "--lr", "0.5",
                              "--top", "3", "--linear-size", "8"])
    from textattack_xmtc.architectures import get_architecture
    assert cli._trainer_options(args, get_architecture("attentionxml-tree")) == {"top": 3, "lr": 0.5,
                                                                                "linear_size": [8]}
    args = parser.parse_args(["--data", "x", "--output", str(tmp_path / "m"), "--architecture", "attentionxml-tree",
                              "--n-layer", "2"])
    assert cli.run_train(args) == 2
    assert "--n-layer not used by --architecture attentionxml-tree" in capsys.readouterr().err
    args = parser.parse_args(["--data", "x", "--output", str(tmp_path / "m"), "--top", "3"])
    assert cli.run_train(args) == 2
    assert "--top not used by --architecture attentionxml" in capsys.readouterr().err


@pytest.mark.parametrize("flags,message", [
    (("--cluster-size", "1"), "error: --cluster-size must be an integer of at least 2, got 1"),
    (("--levels", "1"), "error: --levels must be an integer of at least 2, got 1"),
    (("--levels", "6"), "error: --levels 6: 16 labels in clusters of at most --cluster-size 2 allow 4 level(s)"),
    (("--loss", "pw"), "error: --loss pw: a label tree trains with bce only"),
])
def test_bad_tree_options_are_one_line_with_status_2(dataset, tmp_path, capsys, flags, message):
    parser = cli.add_train_arguments(argparse.ArgumentParser())
    options = list(TREE_TRAIN)
    position = options.index("--cluster-size")
    del options[position:position + 2]
    args = parser.parse_args(["--data", str(dataset), "--output", str(tmp_path / "m"), "--architecture",
                              "attentionxml-tree", "--cluster-size", "2", *options, *flags])
    assert cli.run_train(args) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1, err
    assert not (tmp_path / "m").exists()


def test_top_zero_is_refused_by_the_parser(dataset, tmp_path):
    done = run("textattack-xmtc", "train", "--architecture", "attentionxml-tree", "--data", str(dataset),
               "--output", str(tmp_path / "m"), "--top", "0")
    assert done.returncode == 2 and "--top: must be a positive integer, got 0" in done.stderr
    assert "Traceback" not in done.stderr


def test_train_command_writes_a_tree_that_attack_and_evaluate_run_on(dataset, tmp_path, require_install):
    out = tmp_path / "tree-model"
    done = run("textattack-xmtc", "train", "--architecture", "attentionxml-tree", "--data", str(dataset),
               "--output", str(out), *TREE_TRAIN)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Training attentionxml-tree on 300 documents with 16 labels" in done.stdout
    assert (out / "xmtc_model.json").is_file()
    victim = load_victim(str(out))
    assert victim.model.sizes == [2, 8, 16] and victim.top == 2

    text = "said market iron mine report copper of monday"
    targets = write_targets(tmp_path / "targets.jsonl", [
        {"text": text, "labels": ["iron", "copper"], "target": "iron", "k": 1},
        {"text": "the bank said yen and dollar were of report", "labels": ["yen", "dollar"], "target": "yen",
         "k": 1},
    ])
    attack = run("textattack", "attack", "--recipe", "xmtc-pos", "--model", str(out), "--dataset-from-file",
                 str(targets), "--num-examples", "2", "--random-seed", "1")
    assert attack.returncode == 0, attack.stderr[-3000:]
    assert "Traceback" not in attack.stderr and "XMTC metrics" in attack.stdout

    evaluated = run("textattack-xmtc", "evaluate", "--model", str(out), "--data", str(dataset), "--quiet")
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    assert "Documents measured: 40" in evaluated.stdout and "P@k" in evaluated.stdout


def test_train_command_times_an_epoch_of_one_level_not_of_all(dataset, tmp_path, capsys, monkeypatch):
    """A tree trains --epochs per level: the per-epoch time divides by levels x epochs (it once divided by
    --epochs alone, 3 times too slow for 3 levels). The run's seconds are fixed at 600 to check the figure."""
    import textattack_xmtc.training.attentionxml_tree as tree_training

    def timed(*args, **kwargs):
        wrapper, metrics = train_attentionxml_tree(*args, **kwargs)
        return wrapper, {**metrics, "train_seconds": 600.0}

    monkeypatch.setattr(tree_training, "train_attentionxml_tree", timed)
    options = list(TREE_TRAIN)
    options[options.index("--epochs") + 1] = "2"
    args = cli.add_train_arguments(argparse.ArgumentParser()).parse_args(
        ["--data", str(dataset), "--output", str(tmp_path / "m"), "--architecture", "attentionxml-tree", *options])
    assert cli.run_train(args) == 0
    out = capsys.readouterr().out
    levels = len(load_victim(str(tmp_path / "m")).model.sizes)
    assert levels == 3
    per_10k = 600 / (levels * 2) / 300 * 10_000  # 3333.3 s; 10000.0 s was printed before
    assert f"Trained in 600 s ({per_10k:.1f} s per epoch per 10,000 documents, over 3 levels x 2 epochs); " in out


def test_epochs_trained_counts_every_level_of_a_tree():
    assert cli.epochs_trained({"epochs": 12, "tree": {"levels": 3}}) == (36, ", over 3 levels x 12 epochs")
    assert cli.epochs_trained({"epochs": 12}) == (12, "")
    assert cli.epochs_trained({"epochs": 0, "tree": {"levels": 3}})[0] == 1 and cli.epochs_trained({})[0] == 1
