"""Protected label words: never replace a word of a true label's or the target's name."""
import textattack
from textattack.shared import AttackedText

from textattack_xmtc import XMTCPositive
from textattack_xmtc.constraints import LabelWordModification, label_name_words
from textattack_xmtc.datasets import XMTCDataset, XMTCTarget


def test_label_names_split_into_lower_case_words():
    assert label_name_words(["devel::lang:perl", "money-fx", "suite::gnu", "C15"]) == \
        {"devel", "lang", "perl", "money", "fx", "suite", "gnu", "c15"}


class Goal:
    def protected_label_names(self):
        return ["devel::lang:perl"]


def test_words_of_the_labels_are_never_modifiable():
    text = AttackedText("Perl is a language; PERL and perl, not Python")
    indices = LabelWordModification(Goal())._get_modifiable_indices(text)
    assert {text.words[i] for i in indices} == {"is", "a", "language", "and", "not", "Python"}


def test_the_recipe_option_keeps_the_label_word():
    from conftest import KeywordVictim

    # The label's own name is the word that matters most; protected, it stays.
    keyword_victim = KeywordVictim({"acquisition": {"acquisition": 4.0}, "shares": {"acquisition": 0.5}},
                                   ["acquisition", "earn", "grain"])
    text = "The company announced the acquisition of more shares in its rival firm today"
    target = XMTCTarget(["acquisition"], "acquisition", 1)
    args = textattack.AttackArgs(num_examples=1, silent=True, disable_stdout=True)
    plain = XMTCPositive.build(keyword_victim, k=1, encoder="none")
    protected = XMTCPositive.build(keyword_victim, k=1, encoder="none", protect_label_words=True)
    [changed] = textattack.Attacker(plain, XMTCDataset([(text, target)]), args).attack_dataset()
    [kept] = textattack.Attacker(protected, XMTCDataset([(text, target)]), args).attack_dataset()
    assert "acquisition" not in changed.perturbed_result.attacked_text.text
    assert "acquisition" in kept.perturbed_result.attacked_text.text
