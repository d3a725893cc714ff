"""Tiny random masked language models in two tokenizer families, written offline by the tests.

``build_bert_mlm``: BERT-style WordPiece (``##`` marks continuations).
``build_roberta_mlm``: RoBERTa-style byte-level BPE (``Ġ`` marks word starts).
Both make special tokens and sub-word pieces the MLM's favourite predictions,
so the filters are exercised. Nothing here is a test.
"""
import json

import torch

MLM_WORDS = ("market shares stock price rose fell the bank profit trade grain wheat oil company bought "
             "sold apple banana orange iron copper steel football tennis soccer rain snow storm people "
             "said officials city monday prices reported").split()


def build_bert_mlm(directory, seed=0):
    import transformers

    directory.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + MLM_WORDS + ["##s", "##ed"]
    (directory / "vocab.txt").write_text("\n".join(vocab) + "\n")
    tokenizer = transformers.BertTokenizer(str(directory / "vocab.txt"), do_lower_case=True)
    config = transformers.BertConfig(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1,
                                     num_attention_heads=2, intermediate_size=32, max_position_embeddings=128,
                                     architectures=["BertForMaskedLM"])
    torch.manual_seed(seed)
    model = transformers.BertForMaskedLM(config)
    with torch.no_grad():  # special tokens and pieces first: the filters must remove them
        model.cls.predictions.decoder.bias[:5] += 50.0
        model.cls.predictions.decoder.bias[-2:] += 40.0
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def build_roberta_mlm(directory, seed=0):
    import transformers

    directory.mkdir(parents=True, exist_ok=True)
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    # A byte-level BPE vocabulary of whole words (with and without the word-start mark) plus
    # the single bytes, so that any text encodes.
    byte_tokens = [chr(c) for c in range(33, 127)] + ["\u0120"]
    words = [w for word in MLM_WORDS for w in (word, "\u0120" + word)]
    vocab = {token: i for i, token in enumerate(dict.fromkeys(specials + byte_tokens + words))}
    (directory / "vocab.json").write_text(json.dumps(vocab))
    merges = set()
    for word in MLM_WORDS:
        for token in (word, "\u0120" + word):  # merge left to right: t-o, to-k, ...
            for end in range(2, len(token) + 1):
                merges.add((token[:end - 1], token[end - 1]))
    ordered = sorted(merges, key=lambda pair: len(pair[0]))
    for first, second in ordered:
        vocab.setdefault(first + second, len(vocab))
    (directory / "vocab.json").write_text(json.dumps(vocab))
    (directory / "merges.txt").write_text("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in ordered))
    tokenizer = transformers.RobertaTokenizer(str(directory / "vocab.json"), str(directory / "merges.txt"))
    config = transformers.RobertaConfig(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1,
                                        num_attention_heads=2, intermediate_size=32,
                                        max_position_embeddings=130, pad_token_id=1,
                                        architectures=["RobertaForMaskedLM"])
    torch.manual_seed(seed)
    model = transformers.RobertaForMaskedLM(config)
    with torch.no_grad():  # special tokens and word-inside pieces first
        model.lm_head.bias[:5] += 50.0
        model.lm_head.bias[vocab["s"]] += 40.0
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory
