"""How a saved model was trained, in a few words, from its training info (``wrapper.training``).

Result rows, ``evaluate`` and ``report`` show these, so that a defended model
(a rebalanced loss, adversarial training) is told apart from a plain one
without opening its directory.

Usage::

    describe_loss({"loss": {"name": "pw", "A": 0.55, "B": 1.5}})           # 'pw (A 0.55, B 1.5)'
    describe_adversarial({"adversarial": {"rounds": 2, "documents": 37}})   # '2 rounds, 37 adversarial documents'
"""
from __future__ import annotations


def describe_loss(training: dict) -> str:
    """A saved model's loss, e.g. ``"pw-cb (A 0.55, B 1.5, beta 0.9)"``; "" when it records none.

    An original checkpoint, or a model trained before losses were recorded,
    records none.

    Usage::

        describe_loss(wrapper.training)   # 'bce'
    """
    record = training.get("loss") if isinstance(training, dict) else None
    if not isinstance(record, dict) or "name" not in record:
        return ""
    parameters = ", ".join(f"{key} {record[key]:g}" for key in ("A", "B", "beta")
                           if isinstance(record.get(key), (int, float)))
    return f"{record['name']} ({parameters})" if parameters else str(record["name"])


def describe_adversarial(training: dict) -> str:
    """A saved model's adversarial training, e.g. ``"2 rounds, 37 adversarial documents"``; "" when none.

    ``training["adversarial"]`` is ``{"documents": n, "rounds": r, "runs": [...]}``
    (``rounds`` 0 or absent when the documents came from ``--adversarial-from``
    runs only).

    Usage::

        describe_adversarial(wrapper.training)   # '' for a model trained without adversarial documents
    """
    record = training.get("adversarial") if isinstance(training, dict) else None
    if not isinstance(record, dict):
        return ""
    documents = record.get("documents")
    parts = []
    rounds = record.get("rounds")
    if isinstance(rounds, int) and rounds > 0:
        parts.append(f"{rounds} round{'' if rounds == 1 else 's'}")
    runs = record.get("runs")
    if isinstance(runs, list) and runs and not parts:
        parts.append(f"{len(runs)} run{'' if len(runs) == 1 else 's'}")
    if isinstance(documents, int):
        parts.append(f"{documents} adversarial document{'' if documents == 1 else 's'}")
    return ", ".join(parts) or "adversarial training"
