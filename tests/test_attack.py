"""XMTCAttack: what it prints before a run and how its summary tables are laid out."""
import io

import textattack
from textattack.loggers import AttackLogManager

from textattack_xmtc import XMTCPositive
from textattack_xmtc.datasets import XMTCDataset, XMTCTarget

TEXT = "The company announced the acquisition of more shares in its rival firm today"


def test_printed_attack_names_candidate_source_and_encoder(keyword_victim):
    attack = XMTCPositive.build(keyword_victim, k=1, encoder="none")
    for shown in (str(attack), repr(attack)):
        assert "(candidate source):  GloVe" in shown
        assert "(similarity encoder):  none" in shown


def test_summary_tables_start_on_their_own_lines(keyword_victim):
    attack = XMTCPositive.build(keyword_victim, k=1, encoder="none")
    args = textattack.AttackArgs(num_examples=1, silent=True, disable_stdout=True)
    results = textattack.Attacker(attack, XMTCDataset([(TEXT, XMTCTarget(["acq"], "acq"))]),
                                  args).attack_dataset()
    manager = AttackLogManager(metrics=None)
    manager.add_output_file(io.StringIO(), color_method=None)
    out = manager.loggers[0].fout = io.StringIO()
    manager.loggers[0].stdout = True
    manager.log_results(results)
    lines = out.getvalue().splitlines()
    for title in ("XMTC metrics (Qaraei & Babbar)", "XMTC attack components"):
        [at] = [i for i, line in enumerate(lines) if title in line]
        # the border above the title is this table's own, not glued to the previous table's
        assert len(lines[at - 1]) == len(lines[at]), out.getvalue()
