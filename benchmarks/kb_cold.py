"""make bench, knowledge base: one cold start of the kb function, in this fresh process.

Run by benchmarks/kb.py with the environment it set and the index items it stored (DynamoDB
JSON). Nothing of the helpdesk is imported before the clock starts: the table is made and
the items copied with boto3 alone, then the handler is imported and answers its first search,
which loads the index from the table. Prints one JSON line: seconds of each part.
"""

from __future__ import annotations

import base64
import json
import sys
import time
from pathlib import Path

import boto3
from moto import mock_aws

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "layers" / "core"), str(ROOT)]

from infra.lambda_runtime import FunctionRoutes  # noqa: E402
from infra.provision import provision  # noqa: E402
from infra.template import functions  # noqa: E402


def main(items_file: str, table: str) -> dict[str, float]:
    with mock_aws():
        dynamodb = boto3.client("dynamodb")
        provision(dynamodb, boto3.client("sqs"), table, table)
        for item in json.loads(Path(items_file).read_text(encoding="utf-8")):
            for value in item.values():
                if "B" in value:  # stored as base64 text in the JSON file
                    value["B"] = base64.b64decode(value["B"])
            dynamodb.put_item(TableName=table, Item=item)
        spec = functions()["KbFunction"]
        started = time.perf_counter()
        api = FunctionRoutes(spec, {"sub": "bench", "cognito:groups": ["agent"]})
        imported = time.perf_counter()
        status, _, body = api.request("GET", "/kb/search", query="direction=d0&q=login")
        searched = time.perf_counter()
        assert status == 200, body
        assert "helpdesk.search" in sys.modules
    return {"import": imported - started, "first_search": searched - imported}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2])))
