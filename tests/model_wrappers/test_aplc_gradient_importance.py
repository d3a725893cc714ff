"""Gradient word importance on a trained APLC-XLNet finds the word its label was planted with.

Each synthetic document is filler words plus ONE planted keyword that alone
decides its label. After training a tiny APLC-XLNet, TextAttack's gradient
word importance (``wir="gradient"``: the L1 norm of the gradient of the
goal's margin, which the goal function hands to ``APLCXLNetWrapper.get_grad``
through ``grad_objective``) should rank that keyword first far more often
than a random word order would.
"""
import math

import numpy as np
import pytest
from textattack.shared import AttackedText

from textattack_xmtc.attack_recipes import XMTCPositive
from textattack_xmtc.datasets.corpus import Corpus
from textattack_xmtc.datasets.targets import XMTCTarget
from textattack_xmtc.training.aplc_xlnet import train_aplc_xlnet

KEYWORDS = {"crude": ["oil", "barrel"], "grain": ["wheat", "corn"], "interest": ["rate", "bank"],
            "ship": ["vessel", "port"], "trade": ["tariff", "export"], "zinc": ["zinc", "smelter"]}
FILLER = [f"word{i}" for i in range(30)]
TRIALS = 30


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def planted_corpus(n, seed):
    """(corpus, index of the planted word in each text): filler words and one keyword of the one label."""
    rng = np.random.default_rng(seed)
    labels = sorted(KEYWORDS)
    texts, label_lists, positions = [], [], []
    for _ in range(n):
        label = str(rng.choice(labels))
        words = [str(word) for word in rng.choice(FILLER, size=rng.integers(6, 11), replace=False)]
        position = int(rng.integers(0, len(words) + 1))
        words.insert(position, str(rng.choice(KEYWORDS[label])))
        texts.append(" ".join(words))
        label_lists.append([label])
        positions.append(position)
    return Corpus(texts, label_lists, name="planted"), positions


def poisson_binomial_tail(probabilities, hits):
    """P(at least ``hits`` successes) for independent trials with these success probabilities."""
    distribution = np.zeros(len(probabilities) + 1)
    distribution[0] = 1.0
    for p in probabilities:
        distribution[1:] = distribution[1:] * (1 - p) + distribution[:-1] * p
        distribution[0] *= 1 - p
    return float(distribution[hits:].sum())


@pytest.fixture(scope="module")
def victim():
    train, _ = planted_corpus(300, seed=0)
    wrapper, _ = train_aplc_xlnet(train, epochs=20, batch_size=16, lr_encoder=5e-3, lr_summary=5e-3, lr_head=1e-2,
                                  d_model=32, n_layer=1, n_head=2, d_inner=64, last_hidden_size=32, vocab_size=100,
                                  max_length=40, seed=0, progress=False, log=lambda _: None)
    return wrapper


def test_gradient_importance_ranks_the_planted_word_first(victim):
    attack = XMTCPositive.build(victim, k=1, encoder="none", wir="gradient")
    goal, search = attack.goal_function, attack.search_method
    corpus, positions = planted_corpus(TRIALS, seed=1)
    hits, chances, attacked = 0, [], 0
    for text, labels, position in zip(corpus.texts, corpus.labels, positions):
        victim.grad_objective = None
        attacked_text = AttackedText(text)
        result, _ = goal.init_attack_example(attacked_text, XMTCTarget(labels, k=1))
        if goal.skip_reason:  # the label is not in the top-1: nothing to attack
            continue
        assert victim.grad_objective == goal.gradient_objective  # the goal's margin is what is differentiated
        order, _ = search._get_index_order(attacked_text)
        attacked += 1
        hits += int(order[0] == position)
        chances.append(1.0 / len(order))  # a random order puts the planted word first this often
    assert attacked >= 0.9 * TRIALS
    expected = sum(chances)
    p_value = poisson_binomial_tail(chances, hits)
    print(f"planted word first in {hits}/{attacked} documents; a random order: {expected:.1f} expected, "
          f"p = {p_value:.2e}")
    assert hits >= 0.7 * attacked, (hits, attacked, expected)
    assert p_value < 1e-9, (hits, expected, p_value)


def test_a_seeded_random_order_does_not(victim):
    """The same comparison for a random order stays at chance (the test above is not trivially passed)."""
    rng = np.random.default_rng(0)
    corpus, positions = planted_corpus(TRIALS, seed=1)
    words = [len(text.split()) for text in corpus.texts]
    hits = sum(int(rng.permutation(n)[0] == position) for n, position in zip(words, positions))
    assert poisson_binomial_tail([1.0 / n for n in words], hits) > 1e-3
    assert math.isclose(sum(1.0 / n for n in words), TRIALS / 9, rel_tol=0.3)
