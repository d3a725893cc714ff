"""Result rows: the paper's word count beside TextAttack's, the target as asked and as resolved,
and the run's provenance on every row."""
import json

import textattack
import torch
from textattack.models.wrappers import ModelWrapper
from textattack.search_methods import GreedySearch
from textattack.transformations import WordSwapRandomCharacterDeletion

import textattack_xmtc
from textattack_xmtc import XMTCPositive, result_row
from textattack_xmtc.attack import XMTCAttack
from textattack_xmtc.datasets import XMTCDataset, XMTCTarget
from textattack_xmtc.goal_functions import PositiveTargetedTopK
from textattack_xmtc.metrics.attack import paper_metrics
from textattack_xmtc.results import PROVENANCE_FIELDS, XMTCRecord

TEXT = "The company announced the acquisition of more shares in its rival firm today"


def run(attack, examples, **args):
    attack_args = textattack.AttackArgs(num_examples=len(examples), silent=True, disable_stdout=True, **args)
    return textattack.Attacker(attack, XMTCDataset(examples), attack_args).attack_dataset()


def test_words_are_counted_as_the_paper_splits_them_and_as_textattack_does(keyword_victim):
    text = "Acquisition talks , he said  today."  # a lone comma and two spaces: 7 tokens, 5 words
    [result] = run(XMTCPositive.build(keyword_victim, k=1, encoder="none"), [(text, XMTCTarget(["acq"], "acq"))])
    row = result_row(result)
    assert row["words"] == len(text.split(" ")) == 7
    assert row["textattack_words"] == 5
    assert row["status"] == "succeeded" and row["words_changed"] == 1
    assert row["change_rate"] == 1 / 7 and row["textattack_change_rate"] == 1 / 5


def test_target_as_asked_and_as_resolved(keyword_victim):
    attack = XMTCPositive.build(keyword_victim, k=1, encoder="none")
    auto, named, index = run(attack, [(TEXT, XMTCTarget(["earn", "acq"], "auto", bin=3)),
                                      (TEXT, XMTCTarget(["acq"], "acq", 1, bin="head")),
                                      (TEXT, XMTCTarget(["acq"], 0))])
    rows = [result_row(result) for result in (auto, named, index)]
    assert [row["target"] for row in rows] == ["auto", "acq", 0]
    assert [(row["label"], row["label_index"]) for row in rows] == [("acq", 0)] * 3
    assert rows[0]["true_labels"] == ["earn", "acq"] and rows[1]["true_labels"] == ["acq"]
    assert [row["bin"] for row in rows] == [3, "head", None]
    assert [row["k"] for row in rows] == [1, 1, 1]


def test_every_row_carries_the_runs_provenance(keyword_victim):
    attack = XMTCPositive.build(keyword_victim, k=1, encoder="none")
    attack.options = {"k": 1, "encoder": "none"}
    results = run(attack, [(TEXT, XMTCTarget(["acq"], "acq")), (TEXT, XMTCTarget(["acq"], "earn"))],
                  random_seed=42)
    for result in results:
        row = result_row(result)
        assert row["options"] == {"k": 1, "encoder": "none"}
        assert row["victim"] == keyword_victim.identity()
        assert row["seed"] == 42
        assert row["package_version"] == textattack_xmtc.__version__
        assert row["textattack_version"] == "0.3.11"
        assert result.xmtc.provenance() == {name: row[name] for name in PROVENANCE_FIELDS}
        json.dumps(row)  # plain data: rows of several runs can be saved and merged


def test_victim_identity_is_computed_once_per_attack(keyword_victim, monkeypatch):
    calls = []
    identity = keyword_victim.identity
    monkeypatch.setattr(keyword_victim, "identity", lambda: calls.append(1) or identity())
    attack = XMTCPositive.build(keyword_victim, k=1, encoder="none")
    run(attack, [(TEXT, XMTCTarget(["acq"], "acq"))] * 3)
    assert len(calls) == 1


class PlainWrapper(ModelWrapper):
    """A TextAttack wrapper that knows nothing of identities."""

    def __init__(self):
        self.model = torch.nn.Linear(1, 1)

    def __call__(self, texts):
        return torch.tensor([[0.9, 0.2]] * len(texts))


def test_victim_without_identity_is_named_by_its_class_and_no_seed_outside_an_attacker():
    goal = PositiveTargetedTopK(PlainWrapper(), k=1, score_type="probabilities", labels=["a", "b"])
    attack = XMTCAttack(goal, [], WordSwapRandomCharacterDeletion(), GreedySearch())
    result = attack.attack("one two three", XMTCTarget(["a"], "a"))
    assert result.xmtc.victim == {"architecture": "PlainWrapper"}
    assert result.xmtc.seed is None  # called directly: no Attacker, no --random-seed
    assert result.xmtc.options == {}


def test_rows_of_several_runs_merge(keyword_victim):
    attack = XMTCPositive.build(keyword_victim, k=1, encoder="none")
    first = [result_row(r) for r in run(attack, [(TEXT, XMTCTarget(["acq"], "acq"))], random_seed=1)]
    second = [result_row(r) for r in run(attack, [(TEXT, XMTCTarget(["acq"], "earn"))], random_seed=2)]
    rows = json.loads(json.dumps(first + second))
    assert [row["seed"] for row in rows] == [1, 2]
    metrics = paper_metrics(rows)
    assert (metrics.attacked, metrics.skipped) == (1, 1)


def test_record_fields_are_documented_for_csv():
    from textattack_xmtc.results import _FIELD_KINDS

    assert set(_FIELD_KINDS) == set(XMTCRecord.__dataclass_fields__)
    assert _FIELD_KINDS["target"] == ("label", False) and _FIELD_KINDS["options"] == ("json", False)
