"""Knowledge base search: Russian and English words to stems, a direction's inverted index,
Okapi BM25 over it.

Stemming is Snowball's (`snowballstemmer`): a Cyrillic word goes through the Russian
stemmer, a Latin one through the English, so a mixed article needs no language detection
and "оплаты" finds "оплата", "passwords" finds "password". A few roots that stemming cannot
join ("войти" / "вход", "log in" / "sign in") are joined by `SYNONYMS`, stem to stem.

The index is plain data (documents, and per term a list of document numbers and term
frequencies), stored as gzipped JSON and an array of integers (never pickle: it is read back
from storage; `Index.dumps`) and scored here with BM25 (k1 1.2, b 0.75; the
title and tags count `TITLE_WEIGHT` times, a simple BM25F). rank_bm25 was the library
candidate: it needs numpy (tens of MB in the layer) and scores every document per query,
where an inverted index touches only those that share a term (decisions.md, 2026-11-26).
"""

from __future__ import annotations

import gzip
import heapq
import json
import math
import re
import sys
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import snowballstemmer  # type: ignore[import-untyped]

FORMAT = 2
K1, B = 1.2, 0.75
TITLE_WEIGHT = 3
MAX_QUERY_TERMS = 64  # a pasted conversation is cut, not scored term by term for ever

_WORD = re.compile(r"[0-9a-zа-яё]+", re.IGNORECASE)
_CYRILLIC = re.compile(r"[а-яё]")
_STEMMERS = {
    "ru": snowballstemmer.stemmer("russian"),
    "en": snowballstemmer.stemmer("english"),
}

_STOP_TEXT = (
    "а без более бы был была были было быть в вам вас весь во вот все всё всего вы где да "
    "даже для до его ее её если есть еще ещё же за здесь и из или им их к как ко когда кто ли "
    "либо мне может мы на надо наш не него нее неё нет ни них но ну о об однако он она они "
    "оно от очень по под при с со так также такой там те тем то того тоже той только том ты у "
    "уже хотя чего чей чем что чтобы чье чья эта эти это я мой моя мое моё мои меня a about "
    "an and are as at be been but by can could did do does for from had has have how i if in "
    "into is it its me my no not of on or our so than that the their them then there these "
    "they this to too was we were what when where which who why will with would you your "
    "please hello hi здравствуйте добрый день пожалуйста спасибо "
)
STOPWORDS = frozenset(_STOP_TEXT.split())

# Stem → the stem it is indexed and searched as. Only roots that stemming cannot join.
SYNONYMS = {
    "войт": "вход",
    "войд": "вход",
    "зайт": "вход",
    "захож": "вход",
    "заход": "вход",
    "залогин": "вход",
    "логин": "вход",
    "авторизац": "вход",
    "signin": "login",
    "logon": "login",
    "sign": "login",
    "log": "login",
    "pay": "payment",
    "paid": "payment",
    "refund": "return",
    "возвр": "возврат",
    "верн": "возврат",
    "вернут": "возврат",
    "вернет": "возврат",
}


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """The word's stem, lower case, joined to its synonym's; '' for a stop word."""
    word = word.lower().replace("ё", "е")
    if word in STOPWORDS:
        return ""
    language = "ru" if _CYRILLIC.search(word) else "en"
    stemmed = str(_STEMMERS[language].stemWord(word))
    return SYNONYMS.get(stemmed, stemmed)


def terms(text: str) -> list[str]:
    """The searchable terms of a text, in order, stop words dropped."""
    return [term for word in _WORD.findall(text) if (term := stem(word))]


@dataclass(frozen=True)
class Doc:
    """What the index holds of an article: enough to show and link a hit."""

    slug: str
    title: str
    language: str
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Hit:
    slug: str
    title: str
    language: str
    score: float


@dataclass
class Index:
    """A direction's published articles as an inverted index: term → [doc, tf, doc, tf, ...]."""

    direction: str
    docs: list[Doc] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)
    postings: Mapping[str, Sequence[int]] = field(default_factory=dict)
    revision: int = 0
    _norm_cache: list[float] = field(default_factory=list, repr=False, compare=False)

    @property
    def average_length(self) -> float:
        return sum(self.lengths) / len(self.lengths) if self.lengths else 0.0

    def _norms(self) -> list[float]:
        """BM25's length normalisation per document, computed once per loaded index."""
        if len(self._norm_cache) != len(self.lengths):
            average = self.average_length or 1.0
            self._norm_cache = [K1 * (1 - B + B * length / average) for length in self.lengths]
        return self._norm_cache

    def search(
        self, query: str, limit: int = 5, language: str | None = None, boost: float = 1.0
    ) -> list[Hit]:
        """The best `limit` articles for `query` by BM25; articles in `language` get their
        score multiplied by `boost` (the ticket's language first, the other still found)."""
        wanted = list(dict.fromkeys(terms(query)))[:MAX_QUERY_TERMS]
        if not wanted or not self.docs:
            return []
        count, norms = len(self.docs), self._norms()
        scores: dict[int, float] = {}
        for term in wanted:
            posting = self.postings.get(term)
            if not posting:
                continue
            frequency = len(posting) // 2
            weight = (K1 + 1) * math.log(1 + (count - frequency + 0.5) / (frequency + 0.5))
            pairs = iter(posting)  # doc, tf, doc, tf, ...
            for doc, tf in zip(pairs, pairs, strict=True):
                scores[doc] = scores.get(doc, 0.0) + weight * tf / (tf + norms[doc])
        if language and boost != 1.0:
            for doc in scores:
                if self.docs[doc].language == language:
                    scores[doc] *= boost
        # Ties go to the lower document number: documents are numbered in slug order.
        best = heapq.nlargest(limit, scores.items(), key=lambda pair: (pair[1], -pair[0]))
        return [
            Hit(self.docs[d].slug, self.docs[d].title, self.docs[d].language, round(s, 4))
            for d, s in best
        ]

    def dumps(self) -> bytes:
        """What storage keeps, gzipped: a line of JSON (documents, lengths, terms and where
        each term's postings start), then every posting list as one array of unsigned
        little-endian integers (16 bits while they fit). Loading it is a JSON parse of the
        small part and one copy of the large one, not a parse of a million numbers."""
        terms = sorted(self.postings)
        largest = max((max(p, default=0) for p in self.postings.values()), default=0)
        flat = array("H" if largest < 2**16 else "I")
        offsets = [0]
        for term in terms:
            flat.extend(self.postings[term])
            offsets.append(len(flat))
        header = {
            "format": FORMAT,
            "direction": self.direction,
            "revision": self.revision,
            "docs": [[d.slug, d.title, d.language, list(d.tags)] for d in self.docs],
            "lengths": self.lengths,
            "terms": terms,
            "offsets": offsets,
            "integers": flat.typecode,
        }
        if sys.byteorder == "big":
            flat.byteswap()
        line = json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode()
        return gzip.compress(line + b"\n" + flat.tobytes(), compresslevel=6, mtime=0)

    @classmethod
    def loads(cls, blob: bytes) -> Index:
        line, _, numbers = gzip.decompress(blob).partition(b"\n")
        data: dict[str, Any] = json.loads(line)
        if data.get("format") != FORMAT:
            raise ValueError(f"index format {data.get('format')!r}, expected {FORMAT}")
        flat = array(data["integers"])
        flat.frombytes(numbers)
        if sys.byteorder == "big":
            flat.byteswap()
        docs = [
            Doc(slug, title, language, tuple(tags)) for slug, title, language, tags in data["docs"]
        ]
        postings = _Postings(flat, data["terms"], data["offsets"])
        return cls(data["direction"], docs, data["lengths"], postings, data["revision"])


class _Postings(Mapping[str, Sequence[int]]):
    """A loaded index's posting lists: slices of one array, cut when a term is searched."""

    def __init__(self, flat: array[int], terms: list[str], offsets: list[int]) -> None:
        self.flat = flat
        self.spans = {term: (offsets[n], offsets[n + 1]) for n, term in enumerate(terms)}

    def __getitem__(self, term: str) -> Sequence[int]:
        start, end = self.spans[term]
        return self.flat[start:end]

    def __iter__(self) -> Iterator[str]:
        return iter(self.spans)

    def __len__(self) -> int:
        return len(self.spans)


@dataclass(frozen=True)
class Source:
    """One published article as the index builder reads it."""

    slug: str
    title: str
    body: str
    language: str
    tags: Sequence[str] = ()


def build(direction: str, articles: Iterable[Source], revision: int = 0) -> Index:
    """The index of `articles` (published ones: the caller chooses)."""
    index = Index(direction, revision=revision)
    postings: dict[str, list[int]] = {}
    for number, article in enumerate(sorted(articles, key=lambda a: a.slug)):
        heading = terms(" ".join([article.title, *article.tags]))
        body = terms(article.body)
        counted = Counter(body)
        for term in heading:
            counted[term] += TITLE_WEIGHT
        index.docs.append(Doc(article.slug, article.title, article.language, tuple(article.tags)))
        index.lengths.append(len(body) + TITLE_WEIGHT * len(heading))
        for term, frequency in counted.items():
            postings.setdefault(term, []).extend((number, frequency))
    index.postings = postings
    return index
