"""Write tests/durations.json from a run's JUnit XML: each test file's seconds, setup included.

    .venv/bin/pytest --junitxml=/tmp/junit.xml && .venv/bin/python tests/durations.py /tmp/junit.xml

tests/conftest.py hands the files to the two workers longest first by these figures; a stale or
missing figure only makes the run end less evenly, it changes no result.
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

OUT = Path(__file__).with_name("durations.json")


def file_seconds(junit_xml: Path) -> dict[str, float]:
    seconds: Counter[str] = Counter()
    for case in ET.parse(junit_xml).iter("testcase"):
        seconds[case.get("classname", "").replace(".", "/") + ".py"] += float(case.get("time", 0))
    return {name: round(s, 1) for name, s in sorted(seconds.items())}


if __name__ == "__main__":
    OUT.write_text(json.dumps(file_seconds(Path(sys.argv[1])), indent=0, sort_keys=True) + "\n")
