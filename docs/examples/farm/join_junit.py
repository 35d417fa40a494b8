#!/usr/bin/env python3
"""Join JUnit XML reports into one: every <testsuite> of every input under one <testsuites>,
each suite's name prefixed with the directory it came from (the CI matrix puts each place's
reports in a directory named after the place), totals recomputed.

    python3 join_junit.py OUT.xml REPORT.xml...
"""

import os
import sys
import xml.etree.ElementTree as ET

COUNTS = ("tests", "failures", "errors", "skipped")


def suites(path):
    root = ET.parse(path).getroot()
    found = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    where = os.path.basename(os.path.dirname(os.path.abspath(path)))
    for suite in found:
        suite.set("name", f"{where}/{suite.get('name', os.path.basename(path))}")
        yield suite


def main(argv):
    if len(argv) < 3:
        sys.exit("usage: join_junit.py OUT.xml REPORT.xml...")
    out, inputs = argv[1], argv[2:]
    joined = ET.Element("testsuites", name="hil")
    totals = dict.fromkeys(COUNTS, 0)
    for path in inputs:
        try:
            for suite in suites(path):
                joined.append(suite)
                for key in COUNTS:
                    totals[key] += int(suite.get(key, "0") or 0)
        except (ET.ParseError, OSError) as e:
            sys.exit(f"error: {path}: {e}")
    for key, value in totals.items():
        joined.set(key, str(value))
    tmp = out + ".tmp"
    ET.ElementTree(joined).write(tmp, encoding="utf-8", xml_declaration=True)
    os.replace(tmp, out)
    print(f"{out}: {totals['tests']} tests, {totals['failures']} failures, {totals['errors']} errors "
          f"from {len(inputs)} reports")
    return 1 if totals["failures"] or totals["errors"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
