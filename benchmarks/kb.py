"""make bench, knowledge base: search over 5,000 articles of one direction, the index's size,
the rebuild a publish does, and the search function's cold start.

1. 5,000 published articles (half Russian, half English; titles of 4 words, bodies of 200, words
   drawn Zipf-like from a vocabulary of the test fixture's real words and 8,000 made-up stems
   in several word forms each), written into moto's table as a lead's publish leaves them.
2. The rebuild a publish does (`KnowledgeDesk.rebuild`: read every published snapshot, stem,
   build, gzip, store the chunks, move the pointer), and the index's size.
3. 1,000 queries of 2-6 words (a client's words: other word forms than the articles') against
   the index in memory (`Index.search`, what a warm function does after its pointer read), and
   through the handler on moto (the same, plus the pointer's GetItem and the HTTP event).
4. Cold start, in a fresh Python process each time (5 runs): importing the kb function (the
   core, Powertools, pydantic, the stemmers) and its first search, which loads the index from
   the table (pointer, BatchGetItem of the chunks, gunzip, JSON). moto is imported before the
   clock starts, so boto3's own import is not in the figure (Lambda's runtime pays it too).
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import random
import re
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import boto3
from moto import mock_aws

from benchmarks import run  # before helpdesk: the bench environment, sys.path, the meter
from helpdesk import kb, search
from helpdesk.models import Actor
from helpdesk.store import Store, keys
from helpdesk.store import kb as kb_store
from helpdesk.usecases import knowledge
from helpdesk.usecases.knowledge import KnowledgeDesk
from infra.lambda_runtime import FunctionRoutes
from infra.provision import provision
from infra.template import functions
from tests.kb_articles import ARTICLES

os.environ["HELPDESK_CONFIG"] = json.dumps({"directions": [{"id": "d0"}]})
ROOT = run.ROOT
ARTICLE_COUNT = 5_000
QUERIES = 1_000
COLD_RUNS = 5
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
LEAD = Actor(user_id="lead-bench", roles=frozenset({"lead"}))
TABLE = os.environ["TABLE_NAME"]  # run's
RU_SYLLABLES = "ба ва га да жа за ка ла ма на па ра са та фа ха ко ло но ро то ки ми ни ри ти ве ле"
EN_SYLLABLES = "ka lo mi ne ra to su pe di ba co fi gu ho ja ly mo nu pa qui re si tu vo"
RU_ENDINGS = ["а", "ы", "ой", "ом", "е", "ами", "ах", "ение", "ить"]
EN_ENDINGS = ["", "s", "ing", "ed", "ion", "er"]


class Words:
    """A language's vocabulary: word forms drawn Zipf-like over stems."""

    def __init__(self, rng: random.Random, real: list[str], syllables: str, endings: list[str]):
        parts = syllables.split()
        made = {"".join(rng.choices(parts, k=rng.randint(2, 4))) for _ in range(4_000)}
        self.real = set(real)
        self.stems = real + sorted(made - self.real)
        self.endings = endings
        self.weights = [1 / (rank + 1) ** 1.05 for rank in range(len(self.stems))]
        self.rng = rng

    def take(self, count: int) -> list[str]:
        stems = self.rng.choices(self.stems, weights=self.weights, k=count)
        return [s if s in self.real else s + self.rng.choice(self.endings) for s in stems]


def vocabularies(rng: random.Random) -> dict[str, Words]:
    found: dict[str, list[str]] = {"ru": [], "en": []}
    for article in ARTICLES:
        text = f"{article.title} {article.body}".lower()
        found[article.language] += re.findall(r"[a-zа-яё]{3,}", text)
    made = {}
    for language, syllables, endings in (
        ("ru", RU_SYLLABLES, RU_ENDINGS),
        ("en", EN_SYLLABLES, EN_ENDINGS),
    ):
        made[language] = Words(rng, sorted(set(found[language])), syllables, endings)
    return made


def articles(rng: random.Random, words: dict[str, Words]) -> list[search.Source]:
    made = []
    for number in range(ARTICLE_COUNT):
        language = "ru" if number % 2 == 0 else "en"
        vocabulary = words[language]
        title = " ".join(vocabulary.take(4)).capitalize()
        body = " ".join(vocabulary.take(200))
        made.append(search.Source(f"a-{number:05d}", title, body, language, vocabulary.take(2)))
    return made


def publish_all(store: Store, sources: list[search.Source]) -> None:
    items = []
    for source in sources:
        content = kb.Content(
            title=source.title, body=source.body, tags=list(source.tags), language=source.language
        )
        draft, _ = kb.new_article("d0", source.slug, content, LEAD, NOW)
        published = kb.publish(draft, LEAD, NOW)
        items.append(kb_store._article_item(published))
    store.table.put_many(items)


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def main() -> None:
    started = time.perf_counter()
    rng = random.Random(20)
    words = vocabularies(rng)
    sources = articles(rng, words)
    queries = [
        " ".join(words["ru" if n % 2 == 0 else "en"].take(rng.randint(2, 6)))
        for n in range(QUERIES)
    ]
    print("# make bench: knowledge base search\n")
    with mock_aws():
        provision(boto3.client("dynamodb"), boto3.client("sqs"), TABLE, TABLE)
        store = Store()
        publish_all(store, sources)
        desk = KnowledgeDesk(store=store)
        began = time.perf_counter()
        built = desk.rebuild("d0")
        rebuild = time.perf_counter() - began
        began = time.perf_counter()
        snapshots = list(store.articles.published("d0"))
        reading = time.perf_counter() - began
        search.stem.cache_clear()  # as a fresh process stems them
        began = time.perf_counter()
        search.build("d0", snapshots).dumps()
        building = time.perf_counter() - began
        built_index = desk.index("d0")  # the build this process made
        raw = built["bytes"]
        chunks = (store.articles.pointer("d0") or {})["chunks"]
        blob = built_index.dumps()
        unzipped = len(gzip.decompress(blob))
        began = time.perf_counter()
        index = search.Index.loads(blob)  # what a function holds after loading it
        parse = time.perf_counter() - began
        knowledge.forget_loaded()  # the handler below loads it from the table

        pure: list[float] = []
        hits = 0
        for query in queries:
            began = time.perf_counter()
            found = index.search(query, limit=5)
            pure.append(time.perf_counter() - began)
            hits += bool(found)
        api = FunctionRoutes(functions()["KbFunction"], {"sub": "b", "cognito:groups": ["agent"]})
        handler: list[float] = []
        for query in queries:
            began = time.perf_counter()
            status, _, _ = api.request("GET", "/kb/search", query="direction=d0&q=" + quote(query))
            handler.append(time.perf_counter() - began)
            assert status == 200
        pages = (
            boto3.client("dynamodb")
            .get_paginator("query")
            .paginate(
                TableName=TABLE,
                KeyConditionExpression="PK = :pk",
                ExpressionAttributeValues={":pk": {"S": keys.kb_index_partition("d0")}},
            )
        )
        stored = [item for page in pages for item in page["Items"]]
    items_file = ROOT / ".local" / "bench-kb-index.json"
    items_file.parent.mkdir(exist_ok=True)
    items_file.write_text(json.dumps(stored, default=_base64), encoding="utf-8")
    colds = []
    for _ in range(COLD_RUNS):
        output = subprocess.run(
            [sys.executable, "-m", "benchmarks.kb_cold", str(items_file), TABLE],
            cwd=ROOT,
            env=os.environ.copy(),
            capture_output=True,
            text=True,
            check=True,
        )
        colds.append(json.loads(output.stdout.strip().splitlines()[-1]))
    terms = len(built_index.postings)
    postings = sum(len(p) // 2 for p in built_index.postings.values())
    print(f"{ARTICLE_COUNT:,} published articles in d0 (half ru, half en), {terms:,} terms, ")
    print(f"{postings:,} postings.\n")
    print("| figure | value |")
    print("|---|---|")
    print(f"| index size, gzipped as stored | {raw / 1024:.0f} KB in {chunks} items |")
    print(f"| index size, unzipped | {unzipped / 1024 / 1024:.1f} MB |")
    print(
        f"| rebuild on publish (read {ARTICLE_COUNT:,} snapshots, build, store) | {rebuild:.1f} s |"
    )
    print(f"| the two parts apart: reading every snapshot from moto's table | {reading:.1f} s |")
    print(f"| the two parts apart: stemming, building, serialising | {building:.1f} s |")
    print(f"| index parse (gunzip, JSON header, integer array) | {ms(parse)} |")
    print(
        f"| search, in memory, {QUERIES:,} queries: p50 / p99 | "
        f"{ms(percentile(pure, 0.5))} / {ms(percentile(pure, 0.99))} |"
    )
    print(
        f"| search through the handler on moto (+ pointer GetItem): p50 / p99 | "
        f"{ms(percentile(handler, 0.5))} / {ms(percentile(handler, 0.99))} |"
    )
    imports = [cold["import"] for cold in colds]
    firsts = [cold["first_search"] for cold in colds]
    print(
        f"| cold start: import of the kb function (median of {COLD_RUNS}) | "
        f"{ms(statistics.median(imports))} |"
    )
    print(
        f"| cold start: first search, loading the index from the table (median) | "
        f"{ms(statistics.median(firsts))} |"
    )
    print(
        f"| cold start: import + index load + first search (median) | "
        f"{ms(statistics.median(i + f for i, f in zip(imports, firsts, strict=True)))} |"
    )
    print(f"\nQueries that found something: {hits} of {QUERIES}.")
    print(f"The whole bench took {time.perf_counter() - started:.0f} s.")


def _base64(value: Any) -> str:
    """Binary attributes as the low-level client takes them back (base64 text in JSON)."""
    return base64.b64encode(value).decode()


if __name__ == "__main__":
    main()
