"""The label-tree AttentionXML (``FastAttentionXML``, for large label sets): recognised, not loaded yet.

The original ``main.py`` with a model configuration that has a ``cluster``
section trains a label tree and writes, in ``models/``, one state dict per
level, ``FastAttentionXML-<data>[-Tree-<n>]-Level-<i>``, and the clusters of
each level below the last, ``...-cluster-Level-<i>.npy`` (DESIGN.md section
5). Loading them is planned; until then ``load_victim`` says that it
recognised the tree instead of "not a model".

Usage::

    find_label_tree("AttentionXML/models")   # {'prefix': 'FastAttentionXML-Amazon-670K-Tree-0', 'levels': [0, 1, 2]}
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import List, Optional, Union

PathLike = Union[str, os.PathLike]

ORIGINAL_PREFIX = "FastAttentionXML-"
_LEVEL = re.compile(r"^(?P<prefix>.+)-Level-(?P<level>\d+)$")
_CLUSTER = re.compile(r"^(?P<prefix>.+)-cluster-Level-(?P<level>\d+)\.npy$")


def _trees_in(directory: Path) -> dict:
    """prefix -> sorted level numbers, for the label-tree files in ``directory``."""
    levels: dict = {}
    clusters = set()
    for entry in directory.iterdir() if directory.is_dir() else ():
        if not entry.is_file():
            continue
        cluster = _CLUSTER.match(entry.name)
        if cluster:
            clusters.add(cluster.group("prefix"))
            continue
        level = _LEVEL.match(entry.name)
        if level:
            levels.setdefault(level.group("prefix"), []).append(int(level.group("level")))
    return {prefix: sorted(found) for prefix, found in levels.items()
            if prefix in clusters or prefix.startswith(ORIGINAL_PREFIX)}


def find_label_tree(path: PathLike) -> Optional[dict]:
    """``{"prefix": ..., "levels": [...]}`` when ``path`` is (a file of) an original label tree, else ``None``.

    ``path`` is a level or cluster file, the ``models/`` directory holding
    them, or the repository root above it. A level file is recognised by its
    name (``FastAttentionXML-...-Level-<i>``) or by a ``<same prefix>-cluster-Level-<j>.npy`` beside it.
    """
    path = Path(path).expanduser()
    if path.is_file():
        match = _LEVEL.match(path.name) or _CLUSTER.match(path.name)
        if match is None:
            return None
        trees = _trees_in(path.parent)
        prefix = match.group("prefix")
        return {"prefix": prefix, "levels": trees[prefix]} if prefix in trees else None
    for directory in (path, path / "models"):
        trees = _trees_in(directory)
        if trees:
            prefix = sorted(trees)[0]
            return {"prefix": prefix, "levels": trees[prefix], "trees": sorted(trees)}
    return None


__all__: List[str] = ["find_label_tree"]
