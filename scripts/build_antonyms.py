"""Build the antonym list the GloVe candidate source filters with.

Reads the counter-fitting constraint lists (Mrkšić et al. 2016, Apache-2.0),
PPDB and WordNet antonym pairs, and writes one sorted, de-duplicated pair per
line to ``textattack_xmtc/data/antonyms.txt``. Run from the repository root:

    python scripts/build_antonyms.py ../shared/datasets/counter-fitting-constraints
"""
import shutil
import sys
from pathlib import Path

OUT_DIR = Path(__file__).resolve().parents[1] / "textattack_xmtc" / "data"


def main(source: str) -> None:
    source_dir = Path(source)
    pairs = set()
    for name in ("ppdb_antonyms.txt", "wordnet_antonyms.txt"):
        for line in (source_dir / name).read_text(encoding="utf-8").splitlines():
            words = line.split()
            if len(words) == 2 and words[0] != words[1]:
                pairs.add(tuple(sorted(w.lower() for w in words)))
    header = "# Antonym pairs from the counter-fitting constraints (Mrksic et al. 2016), Apache-2.0.\n"
    body = "".join(f"{a} {b}\n" for a, b in sorted(pairs))
    (OUT_DIR / "antonyms.txt").write_text(header + body, encoding="utf-8")
    shutil.copy(source_dir / "LICENSE.txt", OUT_DIR / "counter_fitting_LICENSE.txt")
    print(f"wrote {len(pairs)} antonym pairs to {OUT_DIR / 'antonyms.txt'}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/datasets/counter-fitting-constraints")
