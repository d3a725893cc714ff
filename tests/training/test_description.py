"""How a saved model was trained, in words: shown by result rows, ``evaluate`` and ``report``."""
from textattack_xmtc.training.description import describe_adversarial, describe_loss


def test_loss_in_words_names_only_the_parameters_the_loss_reads():
    assert describe_loss({"loss": {"name": "pw", "A": 0.55, "B": 1.5}}) == "pw (A 0.55, B 1.5)"
    assert describe_loss({"loss": {"name": "bce"}}) == "bce"
    assert describe_loss({}) == "" and describe_loss(None) == ""
    assert describe_loss({"loss": "pw"}) == ""  # hand-edited into something else: not guessed


def test_adversarial_training_in_words():
    assert describe_adversarial({"adversarial": {"rounds": 2, "documents": 37, "runs": ["a", "b"]}}) == \
        "2 rounds, 37 adversarial documents"
    assert describe_adversarial({"adversarial": {"rounds": 0, "documents": 1, "runs": ["a"]}}) == \
        "1 run, 1 adversarial document"
    assert describe_adversarial({"loss": {"name": "bce"}}) == ""
