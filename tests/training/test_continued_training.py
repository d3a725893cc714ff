"""``init_from``: continue training a saved model (fine-tuning), e.g. to harden it with a rebalanced loss."""
import pytest
import torch

from textattack_xmtc.training.attentionxml import train_attentionxml

from test_losses import APLC_SMALL, SMALL, planted_tail_corpus

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def start():
    """A BCE AttentionXML trained on the planted-tail corpus (the model a user owns)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    train = planted_tail_corpus(200, 2, seed=0, name="planted-train")
    wrapper, _ = train_attentionxml(train, None, epochs=20, batch_size=16, lr=1e-2, seed=0, **SMALL)
    torch.set_num_threads(threads)
    return train, wrapper


def test_continuing_keeps_the_model_and_leaves_the_start_untouched(start):
    train, model = start
    before = model.weights_sha256()
    tuned, _ = train_attentionxml(train, None, epochs=2, batch_size=16, lr=1e-2, seed=0, init_from=model,
                                  progress=False, log=lambda _: None)
    assert model.weights_sha256() == before  # the start is copied, not trained in place
    assert tuned.weights_sha256() != before
    assert tuned.labels == model.labels and tuned.tokenizer.vocab == model.tokenizer.vocab
    assert tuned.tokenizer.max_length == model.tokenizer.max_length
    assert tuned.training["init_from"]["weights_sha256"] == before
    assert tuned.training["epochs"] == 2


def test_a_label_the_model_does_not_score_is_refused_by_name(start):
    train, model = start
    extra = planted_tail_corpus(20, 1, seed=3, name="extra")
    extra.labels[0] = list(extra.labels[0]) + ["brand-new-label"]
    with pytest.raises(ValueError, match="does not score \\(brand-new-label\\)"):
        train_attentionxml(extra, None, epochs=1, init_from=model, progress=False, log=lambda _: None)
    with pytest.raises(TypeError, match="fixed by the model"):
        train_attentionxml(train, None, epochs=1, init_from=model, hidden_size=8, progress=False,
                           log=lambda _: None)


def test_aplc_xlnet_continues_with_its_label_order_clusters_and_tokenizer():
    from textattack_xmtc.training.aplc_xlnet import train_aplc_xlnet

    train = planted_tail_corpus(60, 2, seed=0, name="planted-train")
    model, _ = train_aplc_xlnet(train, None, epochs=1, batch_size=16, seed=0, adaptive_cutoff=[4, 9], **APLC_SMALL)
    before = model.weights_sha256()
    options = {key: value for key, value in APLC_SMALL.items() if key in ("progress", "log")}
    # More documents of one head label change the frequency order; the model's order must stay.
    more = planted_tail_corpus(60, 2, seed=5, name="more")
    tuned, _ = train_aplc_xlnet(more, None, epochs=1, batch_size=16, seed=0, loss="pw", init_from=model, **options)
    assert tuned.labels == model.labels and tuned.config.cutoffs == model.config.cutoffs
    assert tuned.inputs.max_length == model.inputs.max_length
    assert model.weights_sha256() == before and tuned.weights_sha256() != before
    assert tuned.training["init_from"]["weights_sha256"] == before and tuned.training["loss"] == {"name": "pw"} | {
        "A": 0.55, "B": 1.5}
    with pytest.raises(TypeError, match="fixed by the model"):
        train_aplc_xlnet(more, None, epochs=1, init_from=model, d_model=8, **options)
