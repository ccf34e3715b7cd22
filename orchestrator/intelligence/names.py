"""The name a customer gives: said on a call ("viktor fairbanks here"), written ("this is Uma
Wexler"), or signed under an e-mail's closing line.
"""

from __future__ import annotations

import re

from orchestrator.intelligence.spoken import SPEECH_FILLERS

# The line that closes a message, above the name it is signed with.
CLOSING = re.compile(
    r"^(?:thanks|thank you|thx|many thanks|with thanks|cheers|regards|best|kind regards|"
    r"best regards|warm regards|sincerely|yours(?: truly| sincerely)?|all the best|"
    r"take care|talk soon|speak soon)\b[\w\s!]{0,20}[,.!]?$",
    re.I,
)


def looks_like_a_name_line(line: str) -> bool:
    """A signature line that is only a name: "Uma Lachance", "Viktor"."""
    words = line.rstrip(",.").split()
    return 1 <= len(words) <= 3 and all(re.fullmatch(r"[A-Z][a-z'’-]+", w) for w in words)


_SPOKEN_NAME = re.compile(
    r"\b(?P<name>[a-z]{2,}\s+[a-z]{2,})\s+here\b"
    r"|\b(?:my name is|this is|it's)\s+(?P<said>[a-z]{2,}\s+[a-z]{2,})"
    r"(?=\s+(?:calling|here|from|on|using|about|and|speaking)\b)"
)
_WRITTEN_NAME = re.compile(
    r"\b(?:this is|my name is|it's|it is)\s+(?P<name>[A-Z][a-z'’-]+\s+[A-Z][a-z'’-]+)\b"
    r"|\b(?P<here>[A-Z][a-z'’-]+\s+[A-Z][a-z'’-]+)\s+here\b"
)
_NOT_NAMES = {
    "a",
    "an",
    "the",
    "just",
    "still",
    "really",
    "calling",
    "writing",
    "here",
    "about",
    "back",
    "not",
    "so",
    "very",
    "at",
    "on",
    "in",
    "with",
    "from",
    "your",
    "my",
    "our",
    "again",
    "sorry",
    "hi",
    "hey",
    "hello",
    "there",
    "all",
    "good",
    "fine",
    "okay",
    "ok",
    "going",
    "trying",
    "getting",
    "having",
    "looking",
    "waiting",
    "following",
    "checking",
    "sure",
    "glad",
    "happy",
    "one",
    "more",
    "detail",
    "quick",
    "thanks",
    "thank",
    "is",
    "was",
    "that",
    "this",
    "it",
    "im",
    "we",
    "you",
    "they",
    "he",
    "she",
    "up",
    "out",
    "over",
    "done",
    "also",
    "now",
    "been",
    "anyone",
    "someone",
    "nobody",
    "everyone",
    "customer",
    "member",
    "owner",
    "details",
}


def stated_name(text: str, *, spoken: bool = False) -> str:
    """The full name a customer gives ("this is Uma Wexler", "viktor fairbanks here"), or the
    name line under an e-mail's sign-off; "" when they give none. Written names must be
    capitalised; transcripts are lower case, so only "<first> <last> here" counts there.
    """
    if spoken:
        for match in _SPOKEN_NAME.finditer(_without_stutter(SPEECH_FILLERS.sub("", text.lower()))):
            words = (match.group("name") or match.group("said")).split()
            if not any(w in _NOT_NAMES for w in words):
                return " ".join(w.capitalize() for w in words)
        return ""
    for match in _WRITTEN_NAME.finditer(text):
        words = (match.group("name") or match.group("here")).split()
        if not any(w.lower() in _NOT_NAMES for w in words):
            return " ".join(words)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for previous, line in zip(lines, lines[1:], strict=False):
        words = line.rstrip(",.").split()
        if CLOSING.match(previous) and len(words) >= 2 and looks_like_a_name_line(line):
            return " ".join(words[:3])
    return ""


def _without_stutter(text: str) -> str:
    """ "i'm i'm on the phone" -> "i'm on the phone": transcripts repeat words."""
    return re.sub(r"\b(\S+)(?:\s+\1\b)+", r"\1", text)
