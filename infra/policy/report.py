"""Reads checkov's JSON results (check.sh) and says what failed; exit 1 on any finding.

Also fails when a file did not parse, nothing was scanned, or our own checks (CKV_HD_*)
did not run: a scan that checked nothing must not pass.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from infra.policy import rules
from infra.template import load_template

# checkov does not carry a check's details into its CloudFormation report: ours are
# recomputed here to say what exactly is wrong.
OUR_RULES = {
    "CKV_HD_1": rules.broad_policies,
    "CKV_HD_2": rules.secrets_in_environment,
    "CKV_HD_3": rules.log_group_with_retention,
    "CKV_HD_4": rules.public_routes,
}


def main(path: Path) -> int:
    results: Any = json.loads(path.read_text(encoding="utf-8") or "[]")
    reports = results if isinstance(results, list) else [results]
    passed = [c for r in reports for c in r.get("results", {}).get("passed_checks", [])]
    failed = [c for r in reports for c in r.get("results", {}).get("failed_checks", [])]
    parse_errors = sum(r.get("summary", {}).get("parsing_errors", 0) for r in reports)
    resources = sum(r.get("summary", {}).get("resource_count", 0) for r in reports)
    ours = {c["check_id"] for c in passed + failed if c["check_id"].startswith("CKV_HD_")}

    for check in failed:
        where = f"{Path(check['file_path']).name}:{check['file_line_range'][0]}"
        print(f"FAILED {check['check_id']} {check['resource']} ({where}): {check['check_name']}")
        for detail in details(check):
            print(f"    {detail}")
    print(
        f"policy: {len(failed)} findings ({len(passed)} checks passed, our rules "
        f"{', '.join(sorted(ours)) or 'did not run'}; {resources} resources, "
        f"{parse_errors} files not parsed)"
    )
    if parse_errors or not resources or len(ours) < 4:
        print("policy: the scan is incomplete (see above)")
        return 1
    return 1 if failed else 0


def details(check: dict[str, Any]) -> list[str]:
    rule = OUR_RULES.get(check["check_id"])
    if rule is None:
        return list(check.get("details") or [])
    logical_id = check["resource"].rsplit(".", 1)[-1]
    return rule(load_template(Path(check["file_abs_path"])), logical_id)


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
