"""The name a customer gives: said on a call ("viktor fairbanks here"), written ("this is Uma
Wexler", "Hi I'm Uma Wexler", "my name is uma wexler"), or signed under an e-mail's closing line.
"""

from __future__ import annotations

import re
from functools import cache

from wordfreq import zipf_frequency

from orchestrator.intelligence.spoken import SPEECH_FILLERS

# The line that closes a message, above the name it is signed with.
_CLOSINGS = (
    r"thanks|thank you|thx|many thanks|with thanks|cheers|regards|best|kind regards|"
    r"best regards|warm regards|sincerely|yours(?: truly| sincerely)?|all the best|"
    r"take care|talk soon|speak soon"
)
CLOSING = re.compile(rf"^(?:{_CLOSINGS})\b[\w\s!]{{0,20}}[,.!]?$", re.I)


def looks_like_a_name_line(line: str) -> bool:
    """A signature line that is only a name: "Uma Lachance", "Viktor"."""
    words = line.rstrip(",.").split()
    return 1 <= len(words) <= 3 and all(re.fullmatch(r"[A-Z][a-z'’-]+", w) for w in words)


_WORD = r"[A-Za-z][A-Za-z'’-]+"
# "my name is", "this is", "I'm", "it's" followed by a first and last name, in any case.
_INTRODUCED = re.compile(
    r"\b(?P<intro>my\s+name\s+is|my\s+name's|name's|the\s+name\s+is|this\s+is|i\s+am|i'm|i’m|im"
    r"|it's|it’s|it\s+is|its)\s+"
    rf"(?P<first>{_WORD})\s+(?P<last>{_WORD})(?![A-Za-z'’-])"
    rf"(?P<after>\s*(?:[,.;:!?()\n-]|$|{_WORD}))",
    re.I,
)
# "Uma Wexler here", "uma wexler speaking", at the start of a sentence or after a greeting.
# After a stop only spaces on the same line are skipped (each new line is a start of its own):
# `\s*` there made a run of blank lines rescanned from every one of them.
_HERE = re.compile(
    r"(?:^|[,.;:!?\n][^\S\n]*+|\b(?:hi|hey|hello|hiya|yes|morning|afternoon|evening|there)\s+)"
    rf"(?P<first>{_WORD})\s+(?P<last>{_WORD})\s+(?:here|speaking)\b",
    re.I,
)
# A message or sentence headed by the sender's name ("Bram Pettersen - email me at ...", "Ana
# Ruiz: order 5512 still not here", "Hello, Nadia Brennan, texting from a new phone"):
# capitals, at the start (after a greeting, perhaps), then a dash, colon or comma.
_HEADING = re.compile(
    r"(?:\A|[.!?]\s+)\s*(?:(?i:hi|hello|hey|hiya)[,!]?\s+)?"
    r"(?P<first>[A-Z][a-z'’]+(?:-[A-Z][a-z'’]+)?)\s+(?P<last>[A-Z][a-z'’]+(?:-[A-Z][a-z'’]+)?)"
    r"\s*(?:-|–|—|:|,)\s+\S"
)
# A text signed off after a dash at its very end ("still waiting on this one - Ines Haddad").
_SIGNED_DASH = re.compile(
    r"(?:^|\s)[-–—~]\s*(?P<first>[A-Z][a-z'’]+(?:-[A-Z][a-z'’]+)?)"
    r"\s+(?P<last>[A-Z][a-z'’]+(?:-[A-Z][a-z'’]+)?)\s*[.!]?\s*\Z"
)
# A closing and the name on one line: "Thanks, Uma Wexler", "cheers uma wexler".
_SIGNED_INLINE = re.compile(
    # As in `_HERE`: spaces taken whole, and after a stop only those on its line.
    rf"(?:^|[.!?\n][^\S\n]*+)(?:{_CLOSINGS})[,!.]?\s+(?P<first>{_WORD})\s+(?P<last>{_WORD})"
    r"\s*+[.!]?\s*+$",
    re.I,
)
# What may follow a name written in lower case ("my name is uma wexler and ..."): without
# capitals, only a clear end of the name tells it from "i'm moving house next week".
_AFTER_LOWER_NAME = frozenset(
    {
        "here",
        "calling",
        "speaking",
        "texting",
        "writing",
        "emailing",
        "from",
        "about",
        "and",
        "on",
        "with",
        "re",
        "regarding",
        "again",
        "please",
        "my",
        "i",
        "im",
        "i'm",
        "order",
        "account",
        "booking",
        "reference",
        "ref",
        "case",
        "claim",
        "ticket",
        "policy",
        "member",
        "btw",
        "using",
        "the",
        "following",
        "just",
        "checking",
    }
)
# An introduction by "it's" names a person only with capitals or a "here" after it:
# "it's been three days", "it's still broken".
_WEAK_INTROS = frozenset({"it's", "it’s", "it is", "its"})
# Introductions that can only be followed by a name ("my name's kofi jablonski this is my
# husband's phone"): what comes after the name does not have to show where it ends.
_NAMING_INTROS = frozenset({"my name is", "my name's", "name's", "the name is"})
# How common a word may be in English and still be read as part of a name written in lower
# case with nothing after it to show where the name ends ("it's marisol ivanova i'm on ...").
# wordfreq's Zipf scale: 3 is once per million words, 4 ten times; "rafael" is 3.7, "super"
# 5.1, "slow" 4.9, "gutted" 3.0. Common first names ("john", 5.4) still need the clearer cues.
_RARE_WORD_ZIPF = 4.0
_NOT_NAMES = frozenset(
    """a an the just still really calling writing texting emailing here about back not so very
    at on in with from your my our again sorry hi hey hello there all good fine okay ok going
    trying getting having looking waiting following checking sure glad happy one more detail
    quick thanks thank is was that this it im we you they he she up out over done also now been
    anyone someone nobody everyone customer member owner details afraid unhappy upset angry
    annoyed frustrated confused worried moving leaving travelling traveling away home stuck
    unable locked new old interested wondering reaching asking hoping planning already only never
    always currently pleased ready due late running expecting supposed told charged being urgent
    ridiculous unacceptable insane crazy terrible awful frustrating annoying important serious
    wrong right correct regarding re for because why what how where when who which concerning
    weird strange odd bad great perfect amazing unbelievable no yes yeah nope definitely totally
    absolutely completely honestly literally basically actually probably maybe almost nearly
    about around too to of and or but if then than as by into onto off down order account
    booking reference number phone email mail address delivery package parcel refund payment
    bill charge card problem issue question request complaint case claim ticket policy
    appointment service support help team office store shop company manager agent again
    today tomorrow yesterday week month year morning afternoon evening night monday tuesday
    wednesday thursday friday saturday sunday still even ever once twice third second first
    last next another other same different any some every each much many few little lot
    lots enough quite rather pretty kind sort type way time day days hours minutes""".split()
)


def stated_name(text: str, *, spoken: bool = False) -> str:
    """The full name a customer gives ("this is Uma Wexler", "hi i'm uma wexler, order 5512",
    "viktor fairbanks here", "Thanks,\\nUma Wexler"), or "" when they give none.

    Capitals make a name; in lower case (transcripts, hurried texts) a name counts only where
    its end is clear, so "i'm moving house next week" is not taken for one.
    """
    if spoken:
        text = _without_stutter(SPEECH_FILLERS.sub("", text.lower()))
    for match in _INTRODUCED.finditer(text):
        name = _name(match, text=text, intro=match.group("intro").lower())
        if name:
            return name
    for pattern in (_HERE, _SIGNED_INLINE):
        for match in pattern.finditer(text):
            name = _name(match, text=text, intro="")
            if name:
                return name
    # A name heading or closing a text after a dash could also be a title ("Cracked Screen -
    # help", "... - Front Door"): a name's words are uncommon ones, a surname rarer still.
    for placed in (*_HEADING.finditer(text), _SIGNED_DASH.search(text)):
        if placed and _rare(placed["first"].lower(), below=5.0) and _rare(placed["last"].lower()):
            name = _name(placed, text=text, intro="")
            if name:
                return name
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for previous, line in zip(lines, lines[1:], strict=False):
        words = line.rstrip(",.").split()
        if CLOSING.match(previous) and len(words) >= 2 and looks_like_a_name_line(line):
            return " ".join(words[:3])
    return ""


def _name(match: re.Match[str], *, text: str, intro: str) -> str:
    words = [match.group("first"), match.group("last")]
    if any(w.lower().strip("'’-") in _NOT_NAMES for w in words):
        return ""
    if any(w.lower().endswith(("ing", "ly")) and len(w) > 4 for w in words):
        return ""
    capitalised = all(w[:1].isupper() for w in words) and not text.isupper()
    if intro and not capitalised:
        intro = re.sub(r"\s+", " ", intro.replace("’", "'"))
        after = (match.groupdict().get("after") or "").strip().lower()
        # "... ines ivanova on my wife's phone", "hi im olivia stone, order 12345"
        followed = after in _AFTER_LOWER_NAME or (bool(after) and not after[:1].isalpha())
        rare = all(_rare(w) for w in words)
        if intro in _WEAK_INTROS:
            named = after in {"here", "calling"} or (followed and rare)
        else:  # at the very end only uncommon words make a name: "i'm gutted tbh"
            named = intro in _NAMING_INTROS or followed or (not after and rare)
        if not named:
            return ""
    return " ".join(w if w[:1].isupper() else w.capitalize() for w in words)


@cache
def _rare(word: str, below: float = _RARE_WORD_ZIPF) -> bool:
    """A word too rare in English to be anything but a name here (see `_RARE_WORD_ZIPF`)."""
    return zipf_frequency(word.strip("'’-"), "en") < below


def _without_stutter(text: str) -> str:
    """ "i'm i'm on the phone" -> "i'm on the phone": transcripts repeat words."""
    # From the start of a word only, the word taken whole: `\b(\S+)` retried every
    # character of "a.a.a.a..." against the rest of the text.
    return re.sub(r"(?<![\w'’])(\w[\w'’]*+)(?:\s+\1(?![\w'’]))+", r"\1", text)
