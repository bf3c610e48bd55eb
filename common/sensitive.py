"""Sensitive-word check (standard 8.1.2): an Aho-Corasick automaton over the word list in
knowledge/safety/sensitive_words.txt, matched on normalised text so that full-width letters,
traditional characters, case and spaces or symbols typed between characters ("刷 单-返*利")
do not hide a word. Sentence punctuation stays a boundary: "……办证。刻章……" is two phrases.
Matches report the span of the original text, so a reviewer sees exactly what was written."""
from __future__ import annotations

import unicodedata
from collections import deque
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from common.text import _T2S

WORDS_FILE = Path(__file__).parent / "safety" / "sensitive_words.txt"
# Traditional forms of the listed words' characters that common/text.py's table (made for
# service questions) does not cover.
_EXTRA_T2S = str.maketrans("紅掃碼禮點擊鏈類網內過穩賺賠腦滾騙詐廣罵違", "红扫码礼点击链类网内过稳赚赔脑滚骗诈广骂违")
# Sentence punctuation (after NFKC) separates phrases; every other symbol or space is skipped.
_BOUNDARY = set("。,!?;:、\n")
_GAP = "|"                       # stands for a boundary in normalised text; no word contains it


def normalise_char(ch: str) -> str:
    """What one typed character counts as: "" when it is skipped, _GAP at a boundary."""
    out = []
    for c in unicodedata.normalize("NFKC", ch).translate(_T2S).translate(_EXTRA_T2S).lower():
        if c in _BOUNDARY:
            out.append(_GAP)
        elif c.isalnum():
            out.append(c)
    return "".join(out)


def normalise(text: str) -> tuple[str, list[int]]:
    """The normalised text and, for each of its characters, the index it came from."""
    chars: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        for c in normalise_char(ch):
            chars.append(c)
            origin.append(i)
    return "".join(chars), origin


@dataclass(frozen=True)
class Match:
    word: str          # the word as listed
    key: str           # the word normalised (what matched)
    category: str      # 广告, 诈骗, 辱骂, 违法 …
    start: int         # span in the original text
    end: int

    def found_in(self, text: str) -> str:
        return text[self.start:self.end]


class SensitiveWords:
    def __init__(self, words: dict[str, str]):
        """`words`: word -> category. Words are normalised like the texts they are matched in."""
        self.categories = list(dict.fromkeys(words.values()))       # in the order listed
        self._goto: list[dict[str, int]] = [{}]
        self._fail: list[int] = [0]
        self._out: list[list[tuple[str, str, str]]] = [[]]
        for word, category in words.items():
            key = normalise(word)[0]
            if not key or _GAP in key:
                raise ValueError(f"sensitive word {word!r} is empty or spans punctuation")
            self._insert(key, word, category)
        self._link()

    @classmethod
    def load(cls, path: Path = WORDS_FILE) -> "SensitiveWords":
        words: dict[str, str] = {}
        category = ""
        for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            if line.startswith("[") and line.endswith("]"):
                category = line[1:-1].strip()
                continue
            if not category:
                raise ValueError(f"{path.name}:{n}: word before any [category]")
            words[line] = category
        return cls(words)

    def _insert(self, key: str, word: str, category: str) -> None:
        state = 0
        for ch in key:
            nxt = self._goto[state].get(ch)
            if nxt is None:
                nxt = len(self._goto)
                self._goto.append({})
                self._fail.append(0)
                self._out.append([])
                self._goto[state][ch] = nxt
            state = nxt
        self._out[state].append((key, word, category))

    def _link(self) -> None:
        """Failure links breadth first; each state also reports the words ending at its fallback."""
        queue = deque(self._goto[0].values())
        while queue:
            state = queue.popleft()
            for ch, nxt in self._goto[state].items():
                queue.append(nxt)
                fallback = self._fail[state]
                while fallback and ch not in self._goto[fallback]:
                    fallback = self._fail[fallback]
                target = self._goto[fallback].get(ch, 0)
                self._fail[nxt] = target if target != nxt else 0      # a root child falls back to the root
                self._out[nxt] = self._out[nxt] + self._out[self._fail[nxt]]

    def find(self, text: str) -> list[Match]:
        """Every occurrence of a listed word, in text order."""
        norm, origin = normalise(text)
        found: list[Match] = []
        state = 0
        for i, ch in enumerate(norm):
            while state and ch not in self._goto[state]:
                state = self._fail[state]
            state = self._goto[state].get(ch, 0)
            for key, word, category in self._out[state]:
                first = i - len(key) + 1
                found.append(Match(word, key, category, origin[first], origin[i] + 1))
        return sorted(found, key=lambda m: (m.start, m.end))


def summary(matches: list[Match]) -> str:
    """"诈骗：刷单返利；广告：兼职日结" — for reviewers and logs."""
    by_category: dict[str, list[str]] = {}
    for m in matches:
        words = by_category.setdefault(m.category, [])
        if m.word not in words:
            words.append(m.word)
    return "；".join(f"{c}：{'、'.join(w)}" for c, w in by_category.items())


@lru_cache(maxsize=1)
def default() -> SensitiveWords:
    return SensitiveWords.load()
