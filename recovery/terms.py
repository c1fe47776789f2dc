"""Terms and vocabularies: an enumerated value's key, Chinese and English labels and aliases, and how text
matches one (the registry of every vocabulary is `recovery.vocab`; this module knows none of them)."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from recovery.errors import ValidationError

#: how many accepted values an error message lists before it says "…" (every responsible unit, 14, is listed)
LISTED = 16


def fold(text: Any) -> str:
    """The form two spellings of one value share: NFKC (full-width letters and digits become ASCII, the
    ideographic space a space), spaces trimmed and collapsed, case folded. `ＳＨＩＦＯ ` and `shifo` fold alike."""
    folded = unicodedata.normalize("NFKC", str(text)).casefold()
    return " ".join(folded.split())


@dataclass(frozen=True)
class Term:
    """One enumerated value: the key stored and sent by the API, its labels, and other names people use."""

    key: str
    zh: str
    en: str
    aliases: tuple[str, ...] = ()
    #: the Chinese short form where the column already says what it is (石佛 under the heading 办事处)
    short: str = ""

    def label(self, locale: str | None = "zh", short: bool = False) -> str:
        if (locale or "zh").lower().startswith("zh"):
            return self.short if short and self.short else self.zh
        return self.en

    @property
    def names(self) -> tuple[str, ...]:
        """Every spelling that means this term: key, labels, short form, aliases."""
        return (self.key, self.zh, self.en, *((self.short,) if self.short else ()), *self.aliases)


@dataclass(frozen=True)
class Vocabulary:
    """A closed list of terms. Iterating gives the keys, so `value in vocabulary` and `list(vocabulary)` read
    like the tuple of keys it replaces."""

    name: str
    zh: str
    en: str
    terms: tuple[Term, ...]
    _index: dict[str, tuple[str, ...]] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index: dict[str, list[str]] = {}
        for term in self.terms:
            for name in term.names:
                keys = index.setdefault(fold(name), [])
                if term.key not in keys:
                    keys.append(term.key)
        self._index.update({name: tuple(keys) for name, keys in index.items()})

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys)

    def __contains__(self, key: object) -> bool:
        return any(t.key == key for t in self.terms)

    def __len__(self) -> int:
        return len(self.terms)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(t.key for t in self.terms)

    def term(self, key: str) -> Term:
        for term in self.terms:
            if term.key == key:
                return term
        raise self.unknown(key)

    def label(self, key: str, locale: str | None = "zh", short: bool = False) -> str:
        """The label of `key` in `locale`; a key the vocabulary does not hold is shown as it is."""
        for term in self.terms:
            if term.key == key:
                return term.label(locale, short)
        return "" if key is None else str(key)

    def labels(self, locale: str | None = "zh") -> tuple[str, ...]:
        return tuple(t.label(locale) for t in self.terms)

    def resolve_all(self, text: Any) -> tuple[str, ...]:
        """Every key `text` names (a label two kinds share names both); () when it names none."""
        if text is None or isinstance(text, bool | dict | list):
            return ()
        folded = fold(text)
        # `partly-restarted`, `Partly Restarted`: a key written with dashes or spaces for its underscores
        return self._index.get(folded) or self._index.get(folded.replace("-", "_").replace(" ", "_"), ())

    def resolve(self, text: Any) -> str:
        """The key `text` names, by key, label or alias, without regard to case, width or surrounding spaces."""
        keys = self.resolve_all(text)
        if len(keys) == 1:
            return keys[0]
        if keys:
            raise ValidationError(
                "%(value)s is ambiguous for %(vocabulary)s: it may mean %(accepted)s.",
                value=str(text)[:60],
                vocabulary=self.en,
                accepted=", ".join(keys),
            )
        raise self.unknown(text)

    def accepted(self, locale: str | None = "zh") -> str:
        """The accepted values for an error message: `shifo (石佛办事处), gouzhao (沟赵办事处), …`."""
        shown = [f"{t.key} ({t.label(locale)})" if t.label(locale) != t.key else t.key for t in self.terms]
        return ", ".join(shown[:LISTED]) + (", …" if len(shown) > LISTED else "")

    def unknown(self, text: Any) -> ValidationError:
        error = UnknownValue(
            "Unknown %(vocabulary)s %(value)s; accepted: %(accepted)s.",
            vocabulary=self.en,
            value=str(text)[:60],
            accepted=self.accepted("en"),
        )
        error.vocabulary = self
        return error


class UnknownValue(ValidationError):
    """A value no term of a vocabulary names; the message lists what is accepted, labels in the reader's
    language (`Vocabulary.unknown` makes one)."""

    vocabulary: Vocabulary | None = None

    def labelled_params(self, zh: bool) -> dict[str, Any]:
        params = dict(self.params)
        if zh and self.vocabulary is not None:
            params["vocabulary"] = self.vocabulary.zh
            params["accepted"] = self.vocabulary.accepted("zh")
        return params


def merged(terms) -> tuple[Term, ...]:
    """Terms with one key given once: a key two lists share (restored: 已修复, 已恢复) keeps its first labels
    and takes the others' as aliases."""
    seen: dict[str, Term] = {}
    for term in terms:
        first = seen.get(term.key)
        if first is None:
            seen[term.key] = term
            continue
        extra = tuple(n for n in term.names[1:] if n not in first.names)
        seen[term.key] = Term(first.key, first.zh, first.en, (*first.aliases, *extra), first.short)
    return tuple(seen.values())


#: yes or no, as forms and spreadsheets write it (是/否, √/×, 1/0, true/false)
BOOLEAN = Vocabulary(
    "boolean",
    "是否",
    "yes or no",
    (
        Term("true", "是", "yes", ("y", "t", "1", "√", "✓", "有")),
        Term("false", "否", "no", ("n", "f", "0", "×", "✗", "无")),
    ),
)


def yes_no(value: Any) -> bool | Any:
    """True or False from a boolean or any spelling of yes or no; anything else is returned as it is."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    keys = BOOLEAN.resolve_all(value) if isinstance(value, str) else ()
    return keys[0] == "true" if keys else value
