"""Add or change catalog entries in both languages at once, safely while others do the same.

    python scripts/i18n_add.py entries.json   # {"he": {"key": "…"}, "en": {"key": "…"}}

Every key must come in both languages; the catalogs are rewritten in their one format
(indent 1, sorted keys, UTF-8) under a file lock.
"""

from __future__ import annotations

import fcntl
import json
import sys
from pathlib import Path

CATALOGS = Path(__file__).resolve().parent.parent / "facilitator" / "i18n"


def main(source: str) -> int:
    entries = json.loads(Path(source).read_text(encoding="utf-8"))
    if set(entries) != {"he", "en"} or set(entries["he"]) != set(entries["en"]):
        print("give the same keys under both 'he' and 'en'", file=sys.stderr)
        return 2
    with (CATALOGS / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for lang, new in entries.items():
            path = CATALOGS / f"{lang}.json"
            catalog = json.loads(path.read_text(encoding="utf-8"))
            catalog.update(new)
            text = json.dumps(catalog, indent=1, sort_keys=True, ensure_ascii=False)
            path.write_text(text + "\n", encoding="utf-8")
    print(f"{len(entries['he'])} entries written")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
