"""``experiment`` on an existing run directory it cannot write: one line and exit status 2, not a traceback."""
import os

import pytest

from commands import write_targets
from conftest import synthetic_corpus

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_an_existing_run_directory_that_cannot_be_written_is_one_error_line(
        tiny_attentionxml_dir, tmp_path, capsys, monkeypatch):
    from textattack_xmtc.cli.experiment import main

    corpus = synthetic_corpus(3, 5)
    targets = write_targets(tmp_path / "targets.jsonl", [
        {"text": text, "labels": labels, "target": labels[0], "k": 2, "attack": "pos"}
        for text, labels in zip(corpus.texts, corpus.labels)])
    out = tmp_path / "run"
    out.mkdir()  # exists, but (as on a read-only filesystem, or someone else's) nothing can be made in it
    real_open = os.open

    def refuse_the_lock(path, *args, **kwargs):
        if str(path) == str(out / ".lock"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", refuse_the_lock)
    with pytest.raises(SystemExit) as exit_:  # was a PermissionError traceback, exit status 1
        main(["--model", str(tiny_attentionxml_dir), "--targets", str(targets), "--recipe", "xmtc-pos",
              "--out", str(out), "--xmtc-encoder", "none", "--no-progress"])
    printed = capsys.readouterr().err
    error = printed.strip().splitlines()[-1]
    assert exit_.value.code == 2 and "Traceback" not in printed, printed[-3000:]
    assert error == (f"textattack-xmtc experiment: error: {out}: cannot write in the run directory "
                     "(Permission denied); choose a writable --out")
    assert list(out.iterdir()) == []
