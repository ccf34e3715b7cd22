"""What a customer's turn says that is worth remembering: its gist without the greetings,
signatures and auto-replies; the problem it raises; the name they give (read by `names`);
the values it states, found by the value tagger in any wording (`values`); and the typed
statements that replace an earlier value (an address, an appointment, a plan, a count).

Values are kept as the customer wrote them ("June 23 at 11:15am"), because people and agents
read them; pure functions, nothing here touches the graph.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from memory.text_limits import analysis_text
from orchestrator.intelligence.names import CLOSING, looks_like_a_name_line, stated_name
from orchestrator.intelligence.spoken import SPEECH_FILLERS, rewrite_spoken
from orchestrator.intelligence.values.kinds import fact_key
from orchestrator.intelligence.values.tagger import value_tagger

MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december|"
    "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
)
WEEKDAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday"
TIME = r"\d{1,2}(?::\d{2})?\s*(?:am|pm|a\.m\.|p\.m\.)"
DATE = (
    rf"(?:(?:{WEEKDAYS}),?\s+)?(?:(?:{MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:{MONTHS})\b)"
)


@dataclass(frozen=True)
class Statement:
    """A typed thing the customer stated; a later statement with the same key replaces it."""

    key: str
    value: str


# Sentences and what is not worth keeping -----------------------------------------------------

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
# A stop ends a sentence unless it ends one of the abbreviations that stand before a name or
# a number in English addresses, titles and lists ("St. Helena", "Dr. Patel", "No. 5"): a
# closed class written here, from no sample or generator.
_ABBREVIATION_END = re.compile(
    r"(?:^|[\s(])(?:st|dr|mr|mrs|ms|mt|ft|jr|sr|prof|rev|capt|lt|col|sgt|ave|blvd|rd|apt|ste|"
    r"no|nr|vs|approx|dept|inc|ltd|co|corp|e\.g|i\.e)\.$",
    re.I,
)
# A greeting line: the greeting and up to two words ("Hi all"), or up to five when a comma or
# colon closes the line, as it does around a company's name ("Dear Acme Home Insurance team,").
_GREETING = re.compile(
    r"^(?:hi|hello|hey|hiya|dear|greetings|good (?:morning|afternoon|evening)|"
    r"to whom it may concern)(?:(?:\s+[\w'’]+){0,2}\s*[,.!:]?|(?:\s+[\w'’&.-]+){0,5}\s*[,:])$",
    re.I,
)
_BOILERPLATE = re.compile(
    r"confidential|intended (?:only )?for|privileged|received this in error|disclaimer|"
    r"strictly (?:forbidden|prohibited)|get outlook|^sent (?:from|via|with|using) |unsubscribe|"
    r"virus|transmission cannot be guaranteed|error-free|prohibited|before printing|"
    r"think before you print|this (?:e-?mail|message) (?:and any|may contain)",
    re.I,
)
_AUTO_REPLY = re.compile(
    r"out of (?:the )?office|limited (?:connectivity|access)|away (?:from|until)|"
    r"(?:travelling|traveling|on leave|on holiday|on vacation) (?:with|until|and)|"
    r"get back to you as soon as|automatic reply|auto-?reply|respond when i return|"
    r"on my return|when i(?:'m| am) back|read (?:on|upon|after) my return|"
    r"(?:i'm|i am|i will be|i'll be) (?:away|out|off)\b.{0,40}\bback\b|will be back (?:on|in)\b|"
    r"(?:this is an? )?automated (?:reply|response|message)|back in the office",
    re.I,
)
# A call that said nothing: the line broke up, the caller will ring back.
_CALL_TROUBLE = re.compile(
    r"line (?:is|was) bad|can you hear me|call (?:you )?back|bad (?:line|signal|connection)|"
    r"breaking up|give me (?:one|a) (?:second|sec|minute)",
    re.I,
)
_SIGNATURE_LINE = re.compile(
    r"^(?:(?:cell|mobile|mob|tel|phone|fax|m|t)\s*[:.]|[\w .,&'-]+\|[\w .,&'-]+$)", re.I
)
# What a mail client writes above a quoted reply, if the quote itself was not recognised.
_QUOTE_HEADER = re.compile(
    r"^(?:>|on .{5,200} wrote:?$|(?:from|sent|to|subject|date|cc):\s|-{2,}\s*original message)",
    re.I,
)
# Words that say something has gone wrong, by what goes wrong in any service, written here
# from everyday English (no sample, journey or generator phrase): a negation or a thing that
# never happened; something lost, late or gone; physical damage; money taken wrongly; a
# service that failed or is down; access refused; and the words people use to name a
# complaint. A sentence with one of them is a candidate for the case's issue.
_PROBLEM = re.compile(
    r"n't|\bnot\b|\bnever\b|\bno longer\b|\bstill\b|\bnobody\b|\bno one\b"
    r"|\bmissing\b|\blost\b|\blate\b|\bstolen\b|\bgone\b|\bdelay\w*"
    r"|\bbroke(?:n)?\b|\bdamag\w*|\bcrack\w*|\bleak\w*|\bfault\w*|\bdefect\w*"
    r"|\bcharged\b|\bovercharg\w*|\bbilled\b|\brefund\w*|\bduplicate\b|\btwice\b|\bwrong\b"
    r"|\berror\w*|\bfail\w*|\bstopped\b|\bdead\b|\boutage\b|\bdown\b|\bslow\b"
    r"|\bdisconnect\w*|\bdropp\w*|\bstuck\b|\bcancel\w*|\bskipp\w*|\bignor\w*|\bforg[oe]t\w*"
    r"|\bdeclin\w*|\bdenied\b|\blocked\b|\bblocked\b|\bexpired\b"
    r"|\bproblem\b|\bissue\b|\bcomplain\w*"
    # Something that should be there and is not ("no signal indoors", "no hot water").
    r"|\bno (?:\w+ )?(?:signal|service|power|water|heat\w*|internet|connection|wi-?fi|reception"
    r"|reply|response|answer|update|access|sound|picture|dial tone|show)\b"
    # The state a thing arrives or ends up in: food, goods, rooms, devices.
    r"|\b(?:cold|soggy|stale|spoil\w*|rotten|mou?ldy|melted|crushed|dented|torn|ripped|burst|"
    r"scratch(?:ed|es)|smashed|shattered|burnt|undercooked|dirty|filthy|stained|smell\w*|"
    r"noisy|flicker\w*|overheat\w*|freez(?:es|ing)|crash\w*|glitch\w*|unusable)\b",
    re.I,
)
# Why someone calls or texts from another phone ("i'm on my sister's phone because mine
# died", "my battery's dead so this is my work phone"): trouble with their own phone, which
# is not what they are contacting the business about. Everyday English, written here.
_OWN_PHONE_TROUBLE = re.compile(
    r"\b(?:mine|my (?:own )?(?:phone|mobile|cell|battery))(?:'s|’s| is| has| was| just)?"
    r"(?:\s+[\w'’]+){0,4}?\s+(?:died|dead|broke|broken|flat|not working|stopped working|ran out)\b",
    re.I,
)
# A sentence that announces it is beside the point ("Unrelated, but ...", "On a separate
# note", "As an aside", "Fun fact"), or says so ("nothing to do with you"):
# small talk, never the case's issue. Everyday English discourse markers, written here.
_ASIDE = re.compile(
    r"^\W*(?:unrelated|off[- ]topic|on an? (?:separate|side|unrelated|different) note|"
    r"as an? (?:aside|side note)|(?:fun fact|in other news|side note)\b)"
    r"|\bnothing to do with (?:you|this|my (?:order|account|case))\b"
    r"|\b(?:apologies|sorry) for (?:the|my|this) (?:slow|late|delayed|brief|long) "
    r"(?:reply|response|answer|e-?mail|message)"
    # Where they looked before writing ("I've tried the help pages first"): a preface.
    r"|\b(?:tried|checked|looked (?:at|through)|read|searched) (?:the|your) "
    r"(?:help|faq|support|website|site|online)",
    re.I,
)
_REQUEST = re.compile(
    r"\b(?:please|pls|can you|could you|would you|i need|i want|i'd like|we need|kindly|"
    r"put me down|book|schedule|send|ship|deliver|use|authori[sz]e|change|update|replace|"
    r"switch|move|make it|confirm\w*|escalate|added|removed|booked|ordered|paid|returned|"
    r"cancelled|canceled|upgraded|downgraded|switched|moved|changed)\b",
    re.I,
)


def sentences(text: str) -> list[str]:
    """Split a turn into sentences and lines, dropping empty pieces; a stop after "St." or
    "Dr." ends no sentence."""
    pieces: list[str] = []
    for line in re.split(r"\n+", text):
        joined: list[str] = []
        for piece in _SENTENCE_END.split(line):
            piece = piece.strip()
            if not piece:
                continue
            if joined and _ABBREVIATION_END.search(joined[-1]):
                joined[-1] = f"{joined[-1]} {piece}"
            else:
                joined.append(piece)
        pieces += joined
    return pieces


def is_boilerplate(sentence: str) -> bool:
    """Greetings, sign-offs, signature lines, legal footers and auto-replies."""
    stripped = sentence.strip(" -–—*_>")
    return bool(
        not stripped
        or _GREETING.match(stripped)
        or CLOSING.match(stripped)
        or _SIGNATURE_LINE.match(stripped)
        or _BOILERPLATE.search(stripped)
        or _AUTO_REPLY.search(stripped)
        or _CALL_TROUBLE.search(stripped)
        or _QUOTE_HEADER.match(sentence.strip())
        or looks_like_a_name_line(stripped)
    )


def is_worth_keeping(sentence: str) -> bool:
    """A sentence an agent should see: not boilerplate or small talk, and saying something."""
    if is_boilerplate(sentence):
        return False
    words = sentence.split()
    if len(words) <= 2 and not re.search(r"\d", sentence):
        return False
    return bool(_PROBLEM.search(sentence) or _REQUEST.search(sentence) or _has_content(sentence))


def _has_content(sentence: str) -> bool:
    """Numbers, references, dates, e-mail addresses or proper names."""
    if re.search(r"\d|@", sentence) or re.search(rf"\b(?:{MONTHS})\b", sentence, re.I):
        return True
    body = sentence.split(" ", 1)[1] if " " in sentence else ""
    return bool(re.search(r"\b[A-Z][a-z]+(?:\s+[A-Z0-9][\w-]*)+", body))


def gist(text: str, *, max_words: int = 60) -> str:
    """The sentences of a turn worth keeping, in order, cut to `max_words`."""
    kept: list[str] = []
    used = 0
    for sentence in sentences(text):
        if not is_worth_keeping(sentence):
            continue
        words = sentence.split()
        if used + len(words) > max_words:
            words = words[: max(0, max_words - used)]
        if words:
            kept.append(" ".join(words))
            used += len(words)
        if used >= max_words:
            break
    return " ".join(kept)


def issue(text: str, *, reference: str = "", max_words: int = 30) -> str:
    """The sentence of a turn that says what is wrong, or "" when none does.

    A problem word counts most; so does standing next to the sentence that names the case
    (customers say what happened right around the order number), while a bare reference
    ("Case number: X.") says nothing by itself.
    """
    pieces = sentences(text)
    key = canonical_key(reference) if reference else ""
    naming = {i for i, p in enumerate(pieces) if key and key in canonical_key(p)}
    best, best_score = "", 0
    for index, sentence in enumerate(pieces):
        if is_boilerplate(sentence) or _ASIDE.search(sentence):
            continue
        troubles = _OWN_PHONE_TROUBLE.sub(" ", sentence)
        score = 3 * bool(_PROBLEM.search(troubles)) + bool(_REQUEST.search(sentence))
        if naming & {index - 1, index, index + 1}:
            score += 2
        # Asking after the case ("any update on order 5512?") is not saying what is wrong.
        if _CHASING.search(sentence) and not _PROBLEM.search(troubles):
            score -= 2
        bare = len(sentence.split()) <= 5 or (
            index in naming and len(sentence.split()) <= len(reference.split()) + 4
        )
        score -= 3 * bare
        if score > best_score:
            best, best_score = sentence, score
    return " ".join(best.split()[:max_words]) if best_score >= 2 else ""


# Asking after a case rather than saying what is wrong ("any update on ...?", "where is it
# at", "quick one about ...", "I want this sorted today"): everyday English, written here.
_CHASING = re.compile(
    r"\b(?:any (?:update|news|word|progress)|where (?:is|are)|what'?s happening|status|"
    r"quick (?:one|question)|checking (?:in|on)|chasing|following up|follow(?:ing)?[- ]up|"
    r"sort(?:ed)? (?:it )?(?:out )?today|want this sorted)\b",
    re.I,
)


def is_filler(text: str) -> bool:
    """A turn that says nothing of note: "ok", "battery dying", an auto-reply, small talk, a
    call that broke up. A question or a follow-up is not filler: it resets the mood.
    """
    if gist(text) or "?" in text:
        return False
    pieces = sentences(text)
    return len(text.split()) <= 6 or all(is_boilerplate(p) for p in pieces)


# Typed statements ----------------------------------------------------------------------------
#
# Where these patterns come from: each is an English construction for stating or changing one
# kind of thing a contact centre keeps, written from how such statements are built (a noun
# that names the kind, a copula or a verb of choosing or changing, then the value), not from
# the sample journeys or the benchmark generator's phrase pools; the words in each list are
# the common members of a closed class (units people count, nouns for a supplier, verbs of
# choosing). Values in any other wording are the value tagger's (`values`), which learned
# from crowd workers' sentences in SGD, and a changed choice is recognised by the filing
# (`values.filing`) whatever the pattern that found it. Checked against sentences written
# for the tests and the dev phrase family only; the held-out family measures them.

# `\s*+`: spaces taken whole, or "\s*#?\s*" splits a run of them every possible way.
_UNIT = re.compile(r"\b(?:apt|apartment|unit|suite|flat|ste)\.?\s*+#?\s*+\d+[a-z]?\b", re.I)
_APPOINTMENT = re.compile(rf"\b(?P<span>{DATE}(?:,?\s+(?:at\s+)?{TIME})?)", re.I)
_UNTIL = re.compile(r"\b(?:until|till|til|through|thru)\s*$", re.I)
_PLAN = re.compile(
    r"\b(?:plan|tier|package|subscription)\s++(?:is|says|was|=|:)?\s*+(?:now\s+)?(?:the\s+)?"
    r"(?P<a>[A-Z][\w+]*(?:\s+[A-Z0-9][\w+]*){0,2})"
    r"|\b(?:upgraded|downgraded|switched|moved|changed|upgrade|downgrade|switch|move)\s+"
    r"(?:us\s+|me\s+|my plan\s+|our plan\s+|the plan\s+)?(?:up\s+|down\s+|over\s+)?"
    r"to\s+(?:the\s+)?"
    r"(?P<b>[A-Z][\w+]*(?:\s+[A-Z0-9][\w+]*){0,2})(?![\w+]*-)"
    r"|(?:\bthe\s+|\bon\s+|\bfor\s+|\bto\s+)(?P<c>[A-Z][\w+]*(?:\s+[A-Z0-9][\w+]*){0,2})"
    r" (?:plan|tier|package|bundle|tariff)\b"
)
# A plan named after a word of change in a sentence about plans, wherever the name stands
# ("switched plans, it's Talk 500 now", "new package: Fibre Max"): a name in capitals of two
# or more words, or one word and a number, that does not open the sentence.
_PLAN_NAMED_IN_CHANGE = re.compile(
    r"(?<=\S\s)(?<!\d\s)(?P<name>[A-Z][a-z]+(?:\s+(?:[A-Z][\w+]*|\d+[A-Za-z]*)){1,2})\b"
)
_PLAN_TALK = re.compile(r"\b(?:plan|plans|tier|package|bundle|tariff|subscription)\b", re.I)
_PLAN_CHANGE = re.compile(
    r"\b(?:switch\w*|chang\w*|mov(?:e|ed)|upgrad\w*|downgrad\w*|went|gone|now|new)\b", re.I
)
_SPOKEN_PLAN = re.compile(
    r"\bplan (?:says|is) (?:the )?(?P<plan>[a-z0-9]+(?: [a-z0-9]+)?)\b"
    r"|\bon (?:the )?(?P<on>[a-z0-9]+(?: [a-z0-9]+){0,2}) (?:plan|tier|package)\b"
)
_VENDOR_INSTEAD = re.compile(
    r"\b(?:use|go with|switch to|pick|choose)\s+"
    r"(?P<name>[A-Za-z][\w&'’-]*(?:\s+[A-Za-z&][\w&'’-]*){0,2})"
    r"\s+instead\b",
    re.I,
)
_QUANTITY = re.compile(
    r"\b(?P<n>\d{1,5})\s+(?P<unit>seats|licen[cs]es|users|lines|guests|rooms|boxes|bags|"
    r"people|tickets|devices|nights|members|employees|pallets|crates|passengers|adults|"
    r"children|kids|pets|cars|vehicles|phones|sims|connections|desks|beds|tables|covers|"
    r"portions|meals|items|parcels|packages|hours|sessions|classes|lessons)\b",
    re.I,
)
_ID_TOKEN = r"(?=[A-Z0-9-]*\d)[A-Z0-9][A-Z0-9-]{4,}"  # noqa: S105 - a pattern, not a secret
_MEMBER_ID = re.compile(
    r"\b(?:member(?:ship)?|insurance|insurer|policy|subscriber|policyholder)\b"
    r"[\w\s,'’]{0,25}?\b(?:id|number|no|#)\b"
    r"(?:[\w\s,'’]{0,15}?(?:\bis\b|\bit's\b|\bwith\b|\bto\b|:|=))?\s*"
    rf"(?:now\s+)?(?P<id>{_ID_TOKEN})\b"
    r"|\b(?:switched|changed|new)\s+(?:insurance|insurer|policy|membership|member)\b"
    rf"[\w\s,]{{0,12}}?\b(?:id|number)\b\s*(?:is|:|-)?\s*(?P<id2>{_ID_TOKEN})\b",
    re.I,
)
_VENDOR_WRITTEN = re.compile(
    r"\b[Aa]uthori[sz]e\s+(?P<a>[A-Z][\w&'’-]*(?:\s+[A-Z&][\w&'’-]*){0,3})"
    r"|\b(?:go|went|going)\s+with\s+(?P<c>[A-Z][\w&'’-]*(?:\s+[A-Z&][\w&'’-]*){0,3})\s+for\b"
)
_VENDOR_SPOKEN = re.compile(
    r"\b(?:shop|garage|body shop|repairer|repair shop|contractor|company|vendor|mechanic|"
    r"installer|plumber|builder|workshop)\s+(?:i|we)\s+(?:picked|chose|chosen|selected|want|"
    r"prefer|went with|use)\s+(?:is|was)?\s*(?P<b>[a-z][\w&'’-]*(?:\s+[a-z&][\w&'’-]*){0,2})",
    re.I,
)
# A clock time or the times of day with names ("noon"), as an end of a window to call in.
_WINDOW_END = rf"(?:{TIME}|noon|midday|midnight|lunch(?:\s?time)?)"
_CONTACT_TIME = re.compile(
    r"\b(?:(?:call|ring|phone|reach|contact|text|talk|speak|chat)(?:\s+(?:to\s+)?(?:me|us))?|"
    r"take calls|taking calls|available|reachable|catch me|get hold of me|"
    r"(?:i'?m|i am|we'?re|we are|i'll be|we'll be)\s+(?:\w+\s+)?(?:free|around|home|in))\b"
    r"[^.!?]{0,30}?"
    r"(?P<when>between\s+(?:\d{1,2}(?::\d{2})?\s*(?:am|pm)?|noon|midday)\s+and\s+"
    rf"{_WINDOW_END}"
    rf"|(?:after|before)\s+\d{{1,2}}(?::\d{{2}})?\s+in the (?:morning|afternoon|evening)"
    rf"|(?:after|before)\s+{_WINDOW_END}"
    rf"|(?:on\s+)?(?:(?:{WEEKDAYS})s?|weekdays?|weekends?)(?:\s+(?:or|and|&)\s+(?:{WEEKDAYS})s?)?"
    r"(?:\s+(?:mornings?|afternoons?|evenings?))?"
    r"|(?:early|late)\s+(?:mornings?|afternoons?|evenings?)"
    r"|in the (?:morning|afternoon|evening)s?|(?:mornings|afternoons|evenings)"
    r"|first thing(?: in the morning)?|(?:over|at) lunch(?:\s?time)?|lunch\s?times?(?:\s+only)?"
    r"|during (?:school|office|work|working|business) hours"
    r"|after work|before work)",
    re.I,
)
# The same, said the other way round: the time first, then that it suits a call ("over lunch
# suits me best for a call", "weekday mornings work for a call back").
_CONTACT_TIME_FIRST = re.compile(
    r"(?P<when>(?:(?:early|late)\s+)?(?:mornings?|afternoons?|evenings?)|over lunch|lunch\s?times?"
    rf"|first thing(?: in the morning)?|(?:after|before)\s+{_WINDOW_END}"
    rf"|(?:on\s+)?(?:(?:{WEEKDAYS})s?|weekdays?|weekends?)"
    r"(?:\s+(?:mornings?|afternoons?|evenings?))?)"
    r"\s+(?:suits?|works?|is (?:best|good|easiest|ideal)|are (?:best|good))\b[^.!?]{0,25}?"
    r"\b(?:call|ring|phone|chat|talk|contact|reach)",
    re.I,
)
_NEW_REFERENCE = re.compile(
    r"\bnew\s+(?:booking\s+|order\s+|case\s+|claim\s+|account\s+|confirmation\s+|reservation\s+)?"
    r"(?:reference|ref|number|code|confirmation|locator)(?:\s+number|\s+code)?\s*+(?:is|:|-)?\s*+"
    rf"(?P<ref>{_ID_TOKEN})\b"
    r"|\b(?:rebooked|reissued|replaced)\b[^.!?]{0,40}?\b(?:reference|ref|code|number)\s*+"
    rf"(?:is|:|-)?\s*+(?P<ref2>{_ID_TOKEN})\b",
    re.I,
)


def typed_statements(text: str) -> list[Statement]:
    """Typed, replaceable statements in a turn, skipping sign-offs, footers and auto-replies:
    the values the tagger finds in the customer's own words, then the patterns' statements.
    """
    found: list[Statement] = []
    pieces = sentences(text)
    for sentence in pieces:
        if is_boilerplate(sentence) and not _a_short_answer(sentence, alone=len(pieces) == 1):
            continue
        found.extend(stated_values(sentence))
        spoken = rewrite_spoken(SPEECH_FILLERS.sub("", sentence)).text
        found.extend(_statements_in(spoken))
        if spoken != sentence:
            taken = {s.value.casefold() for s in found}
            found += [s for s in switched_to(spoken) if s.value.casefold() not in taken]
    if not any(s.key == "member id" for s in found):
        found = _member_id_across_sentences(text, found)
    return found


# An id-shaped token: letters then at least six digits, or eight digits and more.
_ID_SHAPED = re.compile(r"\b(?:[A-Z]{1,3}\d{6,12}|\d{8,12})\b")
_MEMBER_TALK = re.compile(
    r"\b(?:member(?:ship)?|insurance|insurer|policy|subscriber)\s+(?:id|number|no|card)\b", re.I
)


def _member_id_across_sentences(text: str, found: list[Statement]) -> list[Statement]:
    """A member id given in the sentence after the one that asks for or names it ("You asked
    for my insurance member ID. It's T856505480."), or in place of the old one ("use
    V282944824 instead, the old insurance member ID doesn't work"): the one id-shaped token of
    a turn that speaks of a member id. It replaces what the tagger called it."""
    if not _MEMBER_TALK.search(text):
        return found
    tokens = {m.group(0).upper() for m in _ID_SHAPED.finditer(text)}
    if len(tokens) != 1:
        return found
    token = tokens.pop()
    kept = [s for s in found if s.value.upper() != token]
    return [*kept, Statement("member id", token)]


def _a_short_answer(sentence: str, *, alone: bool) -> bool:
    """A turn that is nothing but a capitalised phrase ("Redwood City.", "In Campbell."):
    the answer to a question, not the name line of a signature it would be in an e-mail."""
    stripped = sentence.strip(" -–—*_>")
    # No signature's name line starts with a preposition ("In San Francisco.").
    placed = bool(re.match(r"(?:in|at|to|from|near|for|on|by|around)\s", stripped, re.I))
    return (
        (alone or placed)
        and looks_like_a_name_line(stripped)
        and not _GREETING.match(stripped)
        and not CLOSING.match(stripped)
    )


# What the tagger sometimes marks that names nothing: English pronouns and place-holder
# words (a closed class, written here, not taken from any sample or generator).
_NOT_A_VALUE = re.compile(
    r"(?:it|that|this|there|here|them|one|the same|same|any|anything|anywhere|whatever|"
    r"something|somewhere|else|now|then|me|you|us)$",
    re.I,
)


# "we've moved over to night saver now", "switching to the family bundle": a choice named
# after a verb of change, in any case (a transcript has no capitals to go by). The name
# ends at the first word that cannot be part of one (a closed class of English function
# and time words, written here).
_SWITCHED_TO = re.compile(
    r"\b(?:(?:switch(?:ed|ing)?|mov(?:ed|ing)|chang(?:ed|ing)|upgrad(?:ed|ing)|"
    r"downgrad(?:ed|ing)|go(?:ing)?|went|gone)\s+(?:us\s+|me\s+|it\s+)?"
    r"(?:over\s+|across\s+|round\s+|up\s+|down\s+|back\s+)?(?:to|with|for)"
    r"|(?:use|using|picked|pick|chose|choose|chosen|prefer|hire|hired|opted\s+for|settled\s+on|"
    r"sign(?:ed)?\s+up\s+(?:for|to)|put\s+(?:us|me)\s+on(?:to)?|tak(?:e|ing)\s+it\s+to)"
    r")\s+(?:the\s+|a\s+|an\s+)?"
    r"(?P<x>[a-z0-9][\w&'’+-]*(?:\s+[a-z0-9][\w&'’+-]*){0,3})",
    re.I,
)
_NAME_ENDS = re.compile(
    r"\s+(?:now|today|tonight|tomorrow|yesterday|this|that|these|those|after|instead|please|"
    r"pls|from|for|because|as|since|and|but|so|then|too|already|last|next|on|at|in|by|if|"
    r"when|which|who|it|is|was|plan|tier|package|thanks|thank|cheers|ok|okay|again|"
    r"earlier|sooner|later|can|could|will|would|should|do|does|did|has|have|had|to|rather|"
    r"not|with|of|or)\b.*$",
    re.I,
)
_NOT_A_CHOICE = re.compile(
    rf"^(?:{MONTHS}|{WEEKDAYS}|\d|a\b|an\b|the\b|my\b|our\b|your\b|you\b|me\b|us\b|it\b|"
    r"them\b|this\b|that\b|email|e-mail|text|phone|sms|voice|call)",
    re.I,
)


def _a_name(raw: str) -> str:
    """A choice's name with what follows it cut ("ace windscreens after all")."""
    return _NAME_ENDS.sub("", " " + raw).strip(" ,.;:!?")


def switched_to(sentence: str) -> list[Statement]:
    """Choices named after a verb of change, as "named" values."""
    found = []
    for match in _SWITCHED_TO.finditer(sentence):
        name = _a_name(match.group("x"))
        if len(name) >= 3 and not _NOT_A_CHOICE.match(name):
            found.append(Statement("named", _title(name)))
    return found


def stated_values(sentence: str) -> list[Statement]:
    """The values in one sentence, keyed by their kind ("date", "place", "to"), as written."""
    tagger = value_tagger()
    if tagger is None:
        return []
    found = []
    for value in tagger.values(sentence):
        text = value.text.strip(" ,.;:!?\"'()")
        if value.kind in ("named", "type"):
            text = _a_name(text) or text
        if len(text) < 2 or _NOT_A_VALUE.match(text) or not re.search(r"\w", text):
            continue
        # "ID HB-140090" is a reference the reference reader keeps, not a name of a thing.
        if value.kind in ("named", "type") and re.search(r"\w*\d\w*-?\w*\d{3}", text):
            continue
        found.append(Statement(fact_key(value.kind), text))
    taken = {s.value.casefold() for s in found}
    found += [s for s in switched_to(sentence) if s.value.casefold() not in taken]
    # A calendar date the tagger missed ("the 17th of April"): the written forms are
    # unambiguous enough for a pattern.
    if not any(s.key == "date" for s in found):
        found += [Statement("date", m.group(0).strip()) for m in _CALENDAR_DATE.finditer(sentence)]
    # Likewise a clock time with am or pm ("is 3:00pm on August 13 free?").
    if not any(s.key == "time" for s in found):
        found += [
            Statement("time", m.group(0).strip())
            for m in _CLOCK_TIME.finditer(sentence)
            if not any(m.group(0).strip().casefold() in s.value.casefold() for s in found)
        ]
    return found


_CALENDAR_DATE = re.compile(rf"\b(?:the\s+)?{DATE}", re.I)
_CLOCK_TIME = re.compile(rf"\b{TIME}(?!\w)", re.I)


def _statements_in(sentence: str) -> list[Statement]:
    found: list[Statement] = []
    found.extend(Statement("unit", _tidy_unit(m.group(0))) for m in _UNIT.finditer(sentence))
    for match in _APPOINTMENT.finditer(sentence):
        until = bool(_UNTIL.search(sentence[: match.start()]))
        has_time = bool(re.search(TIME, match.group("span"), re.I))
        if until or has_time:
            key = "until" if until else "appointment"
            found.append(Statement(key, match.group("span").strip(" ,")))
    if sentence == sentence.lower():
        found.extend(
            Statement("plan", _title(m.group("plan") or m.group("on")))
            for m in _SPOKEN_PLAN.finditer(sentence)
        )
    for match in _PLAN.finditer(sentence):
        name = match.group("a") or match.group("b") or match.group("c")
        if name and not re.match(rf"(?:{MONTHS}|{WEEKDAYS})\b", name, re.I):
            found.append(Statement("plan", name.strip()))
    if (
        not any(s.key == "plan" for s in found)
        and _PLAN_TALK.search(sentence)
        and _PLAN_CHANGE.search(sentence)
    ):
        named = [
            m.group("name")
            for m in _PLAN_NAMED_IN_CHANGE.finditer(sentence)
            if not re.match(rf"(?:{MONTHS}|{WEEKDAYS})\b", m.group("name"), re.I)
            and not _PLAN_TALK.search(m.group("name"))
            and not _PLAN_CHANGE.search(m.group("name"))
        ]
        if len(named) == 1:
            found.append(Statement("plan", named[0]))
    found.extend(
        Statement(f"number of {m.group('unit').lower()}", f"{m.group('n')} {m.group('unit')}")
        for m in _QUANTITY.finditer(sentence)
    )
    found.extend(
        Statement("member id", (match.group("id") or match.group("id2")).upper())
        for match in _MEMBER_ID.finditer(sentence)
    )
    found.extend(
        Statement("chosen vendor", m.group("a") or m.group("c"))
        for m in _VENDOR_WRITTEN.finditer(sentence)
    )
    found.extend(
        Statement("chosen vendor", _title(m.group("b"))) for m in _VENDOR_SPOKEN.finditer(sentence)
    )
    found.extend(
        Statement("chosen vendor", _title(m.group("name")))
        for m in _VENDOR_INSTEAD.finditer(sentence)
        if not re.match(r"(?:the|my|our|that|this|it|a|an)\b", m.group("name"), re.I)
        # "use V282944824 instead": a number is an id, not a supplier.
        and not re.search(r"\d{4}", m.group("name"))
    )
    found.extend(
        Statement("contact time", match.group("when").strip())
        for match in _CONTACT_TIME.finditer(sentence)
    )
    if not any(s.key == "contact time" for s in found):
        found.extend(
            Statement("contact time", match.group("when").strip())
            for match in _CONTACT_TIME_FIRST.finditer(sentence)
        )
    return found


def new_reference(text: str) -> str:
    """A replacement reference the customer was given ("the new reference is R478RW")."""
    match = _NEW_REFERENCE.search(text)
    if match is None:
        return ""
    return (match.group("ref") or match.group("ref2")).upper()


def canonical_key(text: str) -> str:
    """A reference or transcript reduced to upper-case letters and digits, spoken numbers
    written out: "m z a six h f" and "MZA6HF", "maple garden 86" and "maple-garden-86" meet.
    """
    spoken = rewrite_spoken(SPEECH_FILLERS.sub(" ", text)).text
    return re.sub(r"[^A-Z0-9]", "", spoken.upper())


def _tidy_unit(raw: str) -> str:
    label, _, number = raw.partition(" ")
    number = number.strip() or re.sub(r"^\D+", "", raw)
    letters = re.match(r"[A-Za-z]+", raw)
    label = letters.group(0) if letters else label
    return f"{label[:1].upper()}{label[1:].lower()} {number.upper().lstrip('#').strip()}"


def _title(name: str) -> str:
    return " ".join(w if w[:1].isupper() else w[:1].upper() + w[1:] for w in name.split())


@dataclass(frozen=True)
class Remembered:
    """Everything worth remembering from one customer turn."""

    gist: str
    is_filler: bool
    statements: tuple[Statement, ...]
    issue: str
    name: str
    new_reference: str
    spoken_keys: tuple[str, ...]


def remember(text: str, *, channel: str) -> Remembered:
    """Read one turn for the memory: its gist, typed statements, issue, name and keys."""
    text = analysis_text(text)
    spoken = channel == "voice"
    return Remembered(
        gist=gist(text),
        is_filler=is_filler(text),
        statements=tuple(dict.fromkeys(typed_statements(text))),
        issue=issue(text),
        name=stated_name(text, spoken=spoken),
        new_reference=new_reference(text),
        spoken_keys=spoken_key_candidates(text) if spoken else (),
    )


def spoken_key_candidates(text: str, *, longest: int = 8) -> tuple[str, ...]:
    """Every run of up to `longest` consecutive words of a transcript, as a canonical key:
    one of them is "MZA6HF" when the caller spelled "m z a six h f".
    """
    words = re.findall(r"[A-Z0-9]+", rewrite_spoken(SPEECH_FILLERS.sub(" ", text)).text.upper())
    keys = {
        "".join(words[start:end])
        for start in range(len(words))
        for end in range(start + 1, min(len(words), start + longest) + 1)
    }
    return tuple(sorted(key for key in keys if 5 <= len(key) <= 24 and re.search(r"\d", key)))
