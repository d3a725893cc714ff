"""Shared fixtures: tiny victims with scores the test controls."""
import os

os.environ.setdefault("TEXTATTACK_XMTC_CACHE", os.path.join(os.path.dirname(__file__), ".cache"))

import textattack_xmtc  # noqa: E402  (prepares an offline TextAttack import)
import pytest  # noqa: E402
import torch  # noqa: E402

from textattack_xmtc.model_wrappers.base import XMTCModelWrapper  # noqa: E402

from builders import build_hf_multilabel, train_aplc_spiece, write_aplc_original  # noqa: E402
from masked_lm_builders import build_bert_mlm, build_roberta_mlm  # noqa: E402


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny models gain nothing from threads, and spinning OpenMP threads crawl on a busy CPU.

    Usage in a test module: ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


class TableVictim(XMTCModelWrapper):
    """Scores looked up per text; unknown texts get ``default``. Counts calls."""

    def __init__(self, table, labels, default=None, score_type="probabilities"):
        self.table = {text: torch.tensor(scores, dtype=torch.float32) for text, scores in table.items()}
        self.labels = list(labels)
        self.default = default
        self.score_type = score_type
        self.model = torch.nn.Linear(1, 1)
        self.calls = []

    def __call__(self, texts):
        self.calls.append(list(texts))
        rows = [self.table.get(text, self.default if self.default is None else
                               torch.tensor(self.default, dtype=torch.float32)) for text in texts]
        return torch.stack(rows)


@pytest.fixture
def table_victim():
    return TableVictim


class KeywordVictim(XMTCModelWrapper):
    """A transparent victim: label l scores sigmoid(bias_l + sum of its keywords' weights)."""

    def __init__(self, keywords, labels, bias=-2.0):
        self.labels = list(labels)
        self.keywords = keywords  # word -> {label: weight}
        self.bias = bias
        self.model = torch.nn.Linear(1, 1)
        self.score_type = "probabilities"
        self.unk_token = "<UNK>"
        self.max_words = None
        self.batches = []
        self.texts = []

    def __call__(self, texts):
        self.batches.append(len(texts))
        self.texts.extend(texts)
        rows = []
        for text in texts:
            logits = torch.full((len(self.labels),), self.bias)
            for word in text.lower().replace(".", " ").split():
                for label, weight in self.keywords.get(word, {}).items():
                    logits[self.labels.index(label)] += weight
            rows.append(torch.sigmoid(logits))
        return torch.stack(rows)


@pytest.fixture
def keyword_victim():
    keywords = {"acquisition": {"acq": 4.0}, "shares": {"acq": 1.0, "earn": 1.5},
                "profit": {"earn": 3.0}, "wheat": {"grain": 6.0}, "dividend": {"earn": 2.0}}
    return KeywordVictim(keywords, ["acq", "earn", "grain", "ship", "trade"])


# -- victim directories in other projects' formats, built offline ------------

@pytest.fixture(scope="session")
def hf_multilabel_dir(tmp_path_factory):
    return build_hf_multilabel(tmp_path_factory.mktemp("hf") / "tiny-bert-multilabel")


@pytest.fixture(scope="session")
def aplc_spiece(tmp_path_factory):
    return train_aplc_spiece(tmp_path_factory.mktemp("sp") / "spiece.model")


@pytest.fixture(scope="session")
def aplc_original_dir(tmp_path_factory, aplc_spiece):
    """An original APLC-XLNet output directory with random weights (see builders.write_aplc_original)."""
    return write_aplc_original(tmp_path_factory.mktemp("aplc") / "EURLex", aplc_spiece)


# -- tiny masked language models, two tokenizer families -----------------------

@pytest.fixture(scope="session")
def bert_mlm_dir(tmp_path_factory):
    return build_bert_mlm(tmp_path_factory.mktemp("mlm") / "tiny-bert-mlm")


@pytest.fixture(scope="session")
def roberta_mlm_dir(tmp_path_factory):
    return build_roberta_mlm(tmp_path_factory.mktemp("mlm") / "tiny-roberta-mlm")


@pytest.fixture(scope="session", params=["bert", "roberta"])
def mlm_dir(request, bert_mlm_dir, roberta_mlm_dir):
    """Each tokenizer family in turn: WordPiece (BERT) and byte-level BPE (RoBERTa)."""
    return {"bert": bert_mlm_dir, "roberta": roberta_mlm_dir}[request.param]


# -- a tiny AttentionXML saved directory, trained in seconds on words the tests choose --

KEYWORDS = {"fruit": ["apple", "banana", "orange"], "metal": ["iron", "copper", "steel"],
            "sport": ["football", "tennis", "soccer"], "weather": ["rain", "snow", "storm"]}
FILLER = "the people said that on monday market prices were reported by officials in city".split()


def synthetic_corpus(size, seed):
    """Documents of filler words and one or two labels' keywords."""
    import random

    from textattack_xmtc.datasets import Corpus

    rng = random.Random(seed)
    texts, labels = [], []
    for _ in range(size):
        chosen = rng.sample(sorted(KEYWORDS), rng.choice([1, 1, 2]))
        words = rng.sample(FILLER, 6) + [rng.choice(KEYWORDS[label]) for label in chosen]
        rng.shuffle(words)
        texts.append(" ".join(words))
        labels.append(chosen)
    return Corpus(texts, labels, name="synthetic")


@pytest.fixture(scope="session")
def tiny_attentionxml_dir(tmp_path_factory):
    from textattack_xmtc.training.attentionxml import train_attentionxml

    wrapper, metrics = train_attentionxml(
        synthetic_corpus(240, 0), synthetic_corpus(60, 1), epochs=12, batch_size=16, lr=5e-3,
        hidden_size=16, linear_size=[16], progress=False, log=lambda *_: None, seed=0)
    assert metrics["P@1"] > 0.9
    directory = tmp_path_factory.mktemp("model") / "tiny-attentionxml"
    wrapper.save(directory)
    return directory
