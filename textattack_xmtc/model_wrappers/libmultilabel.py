"""LibMultiLabel (ntumlgroup/LibMultiLabel) run directories: recognised, not loaded yet.

``main.py`` writes each run to ``runs/<data>_<model>_<time>/``: a neural
model as PyTorch Lightning checkpoints (``best_model.ckpt`` and
``last.ckpt``; its AttentionXML ``model_0.ckpt`` and ``model_1.ckpt``) with
``logs.json`` and, for word-embedding models, ``word_dict.pickle``; a linear
model as ``linear_pipeline.pickle``. Loading them is planned; until then
``load_victim`` says that it recognised the checkpoint instead of "not a model".

Usage::

    find_checkpoint("runs/EUR-Lex_kim_cnn_20240101")   # {'kind': 'neural', 'files': ['best_model.ckpt', ...]}
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import List, Optional, Union

PathLike = Union[str, os.PathLike]

LINEAR_FILE = "linear_pipeline.pickle"
#: Files a neural run directory holds beside its ``*.ckpt`` files.
RUN_FILES = ("logs.json", "word_dict.pickle")


def find_checkpoint(path: PathLike) -> Optional[dict]:
    """``{"kind": "neural" | "linear", "files": [...]}`` for a LibMultiLabel run directory or file in it.

    A linear run: ``linear_pipeline.pickle``. A neural run: at least one
    ``*.ckpt`` together with ``logs.json`` or ``word_dict.pickle`` (a lone
    ``.ckpt`` could be any Lightning model).
    """
    path = Path(path).expanduser()
    if path.is_file():
        if path.name == LINEAR_FILE or path.suffix == ".ckpt":
            found = find_checkpoint(path.parent)
            return found if found is not None and path.name in found["files"] else None
        return None
    if not path.is_dir():
        return None
    if (path / LINEAR_FILE).is_file():
        return {"kind": "linear", "files": [LINEAR_FILE]}
    checkpoints = sorted(entry.name for entry in path.glob("*.ckpt") if entry.is_file())
    companions = [name for name in RUN_FILES if (path / name).is_file()]
    if checkpoints and companions:
        return {"kind": "neural", "files": checkpoints + companions}
    return None


__all__: List[str] = ["find_checkpoint"]
