#!/usr/bin/env bash
# Policy-as-code for template.yaml (infra/policy/README.md): checkov's AWS checks and our own
# (infra/policy/checks, CKV_HD_*), on the SAM template and on its CloudFormation transform.
# Exits non-zero on any finding, on a template it cannot parse, or when nothing was scanned.
# Usage: infra/policy/check.sh [template.yaml]   (PYTHON: the project's interpreter)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
template="$(cd "$(dirname "${1:-$root/template.yaml}")" && pwd)/$(basename "${1:-template.yaml}")"
python="${PYTHON:-$root/.venv/bin/python}"
venv="$here/.venv"

# checkov gets a virtualenv of its own: its pins clash with the project's boto3.
if [ ! -x "$venv/bin/checkov" ] || ! cmp -s "$here/requirements.txt" "$venv/installed.txt"; then
  echo "policy: installing checkov into $venv"
  "$python" -m venv --clear "$venv"
  "$venv/bin/python" -m pip install --disable-pip-version-check -r "$here/requirements.txt" \
    > "$venv/pip.log" 2>&1 || { cat "$venv/pip.log"; exit 1; }
  cp "$here/requirements.txt" "$venv/installed.txt"
fi

cd "$root"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$python" -m infra.policy.transform "$template" > "$work/transformed.json"

"$venv/bin/checkov" --config-file "$here/checkov.yaml" --external-checks-dir "$here/checks" \
  -f "$template" -f "$work/transformed.json" -o json > "$work/results.json" || true

"$python" -m infra.policy.report "$work/results.json"
