"""Generate customer-journey files (see /work/shared/spec/journeys.md) for developing and testing
Rapport's memory on journeys written with our own domains, people, values and phrasings.

Each journey replays one customer's SMS, calls and e-mails to a business and says, at chosen
events, what an agent's context must contain (`needs`), what it must no longer show (`stale`),
and the customer's current mood (`sentiment`). A journey is built as a list of beats (opening,
identity links, fact statements and updates, follow-ups, distractors, a closing note), each
rendered on a channel with one of several phrasings; probes are derived from what was actually
written, so every need is a substring of the customer's own messages up to the probed event.

Sentiment rule: every message carries a tone. Complaints are `negative`, thanks are `positive`,
and substantive neutral messages (a question, a follow-up, a new fact) are `neutral` and reset
the mood. Filler without any emotional content ("ok", "battery dying", a dropped call, an
out-of-office auto-reply, pure chit-chat) carries no tone: the current mood is the tone of the
latest message that has one, as a person reading the thread would judge it.

Identity cases: `a` the CRM knows the customer (profile); `b` no profile, channels are linked by
an e-mail address stated in an SMS or by the reference key repeated on a second channel; `c` a
call from another person's phone where the caller gives their full name and key (often spelled
out); `d` an e-mail carries the customer's cell number in another format; `mixed` combines them.
Tag `linked_by_key_on_first_use` means the first message on the second channel both carries the
key and states a fact, so the link must be made before that fact can be attributed.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import string
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Segments = list[tuple[bool, str]]
"""A message in pieces: (True, value) pieces are protected from typos, fillers and casing."""

TAGS = (
    "update",
    "buried_fact",
    "distractor",
    "quoted_old_value",
    "key_spelled_out_on_call",
    "alt_phone_call",
    "linked_by_stated_email",
    "linked_by_key",
    "linked_by_key_on_first_use",
    "linked_by_phone_in_text",
    "typo",
    "long",
)
IDENTITY_CASES = ("a", "b", "c", "d", "mixed")
FILE_START = dt.datetime(2026, 7, 6, 8, 0, tzinfo=dt.UTC)


# --------------------------------------------------------------------------- domains


@dataclass(frozen=True)
class Issue:
    """A problem the customer states once; `needle` is the part a probe asks for."""

    needle: str
    sentence: str


@dataclass(frozen=True)
class FactSpec:
    """A fact a domain's customers state and sometimes change."""

    kind: str
    label: str = ""
    thing: str = ""
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class Domain:
    name: str
    company: str
    phone: str
    email: str
    key_label: str
    key_format: str
    topic: str
    issues: tuple[Issue, ...]
    facts: tuple[FactSpec, ...]


def _issues(*pairs: tuple[str, str]) -> tuple[Issue, ...]:
    return tuple(Issue(needle, sentence) for needle, sentence in pairs)


DOMAINS: tuple[Domain, ...] = (
    Domain(
        "utilities",
        "Harrowgate Water & Power",
        "+18885550131",
        "help@harrowgate.example.org",
        "account number",
        "digits10",
        "bill",
        _issues(
            ("estimated reading", "the bill is based on an estimated reading that is way too high"),
            ("charged twice", "I was charged twice for the same month"),
            ("brown water", "we have brown water coming out of every tap"),
            ("shut-off notice", "I got a shut-off notice even though I paid on time"),
        ),
        (
            FactSpec("address", "mailing address", "the bills"),
            FactSpec("appointment", "meter inspection"),
            FactSpec("contact_time"),
            FactSpec(
                "plan", values=("Fixed Rate 24", "Green Choice", "Night Saver", "Flex Monthly")
            ),
        ),
    ),
    Domain(
        "saas",
        "Tallyforge",
        "+18445550172",
        "billing@tallyforge.example.com",
        "workspace",
        "slug",
        "subscription",
        _issues(
            ("exports time out", "the CSV exports time out after a minute"),
            ("locked out of admin", "our owner account is locked out of admin"),
            ("invoice shows the wrong VAT", "the last invoice shows the wrong VAT number"),
            ("billed for removed users", "we were billed for removed users again"),
        ),
        (
            FactSpec("plan", values=("Studio Annual", "Crew Monthly", "Crew Annual", "Atlas Pro")),
            FactSpec("quantity", "seats"),
            FactSpec("address", "billing address", "the invoices"),
            FactSpec("contact_time"),
        ),
    ),
    Domain(
        "banking",
        "Fernhill Credit Union",
        "+18005550137",
        "members@fernhillcu.example.com",
        "case number",
        "prefix:FCU:6",
        "card",
        _issues(
            ("declined at the pharmacy", "my debit card was declined at the pharmacy twice"),
            ("transfer never arrived", "a transfer I sent on Friday never arrived"),
            ("unknown charge from", "there is an unknown charge from a streaming service"),
            ("chip stopped working", "the chip on my card stopped working"),
        ),
        (
            FactSpec("address", "mailing address", "the replacement card"),
            FactSpec("appointment", "branch appointment"),
            FactSpec("contact_time"),
        ),
    ),
    Domain(
        "ecommerce",
        "Brightbasket",
        "+18335550124",
        "orders@brightbasket.example.com",
        "order",
        "digits7",
        "order",
        _issues(
            ("left at the wrong door", "the parcel was left at the wrong door"),
            ("one blue and one grey", "the two chairs came one blue and one grey"),
            ("lid was cracked", "the blender arrived and the lid was cracked"),
            ("tracking hasn't moved", "the tracking hasn't moved in six days"),
        ),
        (
            FactSpec("address", "delivery address", "the replacement"),
            FactSpec("appointment", "courier collection"),
            FactSpec("unit"),
        ),
    ),
    Domain(
        "food_delivery",
        "Forkfleet",
        "+18665550113",
        "care@forkfleet.example.com",
        "order",
        "prefix:FF:6",
        "order",
        _issues(
            ("missing the dessert", "the bag was missing the dessert and a drink"),
            ("soup had spilled", "the soup had spilled all over the bag"),
            ("cold and soggy", "the fries arrived cold and soggy"),
            ("someone else's order", "the rider handed me someone else's order"),
        ),
        (
            FactSpec("address", "delivery address", "my orders"),
            FactSpec("unit"),
            FactSpec("contact_time"),
        ),
    ),
    Domain(
        "telecom",
        "Kestrel Mobile",
        "+18555550146",
        "support@kestrelmobile.example.net",
        "account number",
        "digits9",
        "line",
        _issues(
            ("no signal indoors", "there has been no signal indoors since the mast work"),
            ("roaming charges", "I got roaming charges for a trip I never took"),
            ("number port failed", "the number port failed and my old number is dead"),
            ("drops every call", "the new phone drops every call after two minutes"),
        ),
        (
            FactSpec("address", "service address", "the new SIM"),
            FactSpec("appointment", "engineer visit"),
            FactSpec("plan", values=("Unlimited Flex", "Talk 500", "Family Share 4", "Data Lite")),
            FactSpec("quantity", "lines"),
        ),
    ),
    Domain(
        "airline",
        "Aurora Skyways",
        "+18775550185",
        "bookings@auroraskyways.example.com",
        "booking reference",
        "code6",
        "booking",
        _issues(
            ("stroller never came off", "our stroller never came off the plane"),
            ("charged for a seat", "I was charged for a seat I had already paid for"),
            ("missed the connection", "we missed the connection because the first leg was late"),
            ("meal voucher was refused", "the meal voucher was refused at the airport"),
        ),
        (
            FactSpec("reference"),
            FactSpec("address", "delivery address", "the stroller"),
            FactSpec("contact_time"),
        ),
    ),
    Domain(
        "insurance",
        "Lanternway Insurance",
        "+18885550160",
        "claims@lanternway.example.com",
        "claim number",
        "prefix:LW:7",
        "claim",
        _issues(
            ("hail dented the roof", "the hail dented the roof of the car"),
            ("pipe burst in the kitchen", "a pipe burst in the kitchen overnight"),
            ("rear-ended at a light", "I was rear-ended at a light on my way to work"),
            ("laptop was stolen", "my laptop was stolen from the café"),
        ),
        (
            FactSpec(
                "vendor",
                values=(
                    "Oakridge Auto Body",
                    "Pemberton Glass",
                    "Quickfix Plumbing",
                    "Larkspur Motors",
                ),
            ),
            FactSpec("member_id", "policy ID"),
            FactSpec("address", "mailing address", "the cheque"),
            FactSpec("appointment", "adjuster visit"),
        ),
    ),
    Domain(
        "clinic",
        "Willowmere Family Practice",
        "+18445550119",
        "reception@willowmere.example.org",
        "patient ID",
        "prefix:WFP:6",
        "appointment",
        _issues(
            ("results were never sent", "my blood test results were never sent to me"),
            ("billed for a no-show", "I was billed for a no-show but I was there"),
            ("referral letter has the wrong name", "the referral letter has the wrong name on it"),
            ("portal won't accept my password", "the patient portal won't accept my password"),
        ),
        (
            FactSpec("appointment", "appointment"),
            FactSpec("member_id", "insurance member ID"),
            FactSpec("address", "mailing address", "the letters"),
        ),
    ),
    Domain(
        "hotel",
        "Saltmarsh Inn",
        "+18885550178",
        "frontdesk@saltmarshinn.example.com",
        "reservation",
        "prefix:SM:5",
        "stay",
        _issues(
            ("heating doesn't work", "the heating doesn't work in our room"),
            ("deposit was never refunded", "the deposit was never refunded after checkout"),
            (
                "construction noise from seven",
                "there was construction noise from seven every morning",
            ),
            ("booked a sea view", "we booked a sea view and got the car park"),
        ),
        (
            FactSpec("quantity", "guests"),
            FactSpec("appointment", "airport shuttle"),
            FactSpec("contact_time"),
        ),
    ),
    Domain(
        "car_rental",
        "Roadwise Rentals",
        "+18335550192",
        "desk@roadwise.example.net",
        "rental agreement",
        "prefix:RW:7",
        "rental",
        _issues(
            ("tyre pressure light", "the tyre pressure light came on an hour after pickup"),
            ("charged for fuel", "I was charged for fuel even though I returned it full"),
            ("scratch I didn't cause", "they billed me for a scratch I didn't cause"),
            ("child seat was missing", "the child seat I reserved was missing"),
        ),
        (
            FactSpec("appointment", "vehicle return"),
            FactSpec(
                "vendor", values=("Greenlane Tyres", "Northgate Body Shop", "Ace Windscreens")
            ),
            FactSpec("reference"),
            FactSpec("address", "billing address", "the invoice"),
        ),
    ),
    Domain(
        "pharmacy",
        "Cobblestone Pharmacy",
        "+18775550127",
        "rx@cobblestonepharmacy.example.com",
        "prescription",
        "prefix:CP:6",
        "prescription",
        _issues(
            ("only half the tablets", "the bottle had only half the tablets"),
            ("insurance rejected the refill", "the insurance rejected the refill at the counter"),
            ("wrong strength", "I was given the wrong strength of my inhaler"),
            ("delivery never showed", "the home delivery never showed up"),
        ),
        (
            FactSpec("address", "delivery address", "the refill"),
            FactSpec("member_id", "insurance ID"),
            FactSpec("contact_time"),
            FactSpec("appointment", "flu shot"),
        ),
    ),
    Domain(
        "gym",
        "Ironleaf Fitness",
        "+18005550165",
        "members@ironleaf.example.com",
        "membership number",
        "prefix:IL:5",
        "membership",
        _issues(
            ("charged after I cancelled", "I was charged after I cancelled my membership"),
            ("key fob stopped working", "my key fob stopped working at the door"),
            ("class was cancelled without notice", "my spin class was cancelled without notice"),
            ("locker was broken into", "my locker was broken into during a session"),
        ),
        (
            FactSpec("plan", values=("Off-Peak", "All Access", "Student Saver", "Duo Pass")),
            FactSpec("appointment", "induction session"),
            FactSpec("address", "home address", "the new card"),
        ),
    ),
    Domain(
        "moving",
        "Packhorse Movers",
        "+18665550140",
        "jobs@packhorsemovers.example.com",
        "job number",
        "prefix:PH:5",
        "move",
        _issues(
            ("mirror arrived shattered", "the hallway mirror arrived shattered"),
            ("crew showed up three hours late", "the crew showed up three hours late"),
            ("quote doubled", "the final quote doubled from the estimate"),
            ("boxes went to storage", "two of our boxes went to storage by mistake"),
        ),
        (
            FactSpec("appointment", "move"),
            FactSpec("quantity", "boxes"),
            FactSpec("address", "destination address", "the truck"),
        ),
    ),
    Domain(
        "vet",
        "Meadowbrook Vet Clinic",
        "+18555550121",
        "care@meadowbrookvet.example.org",
        "pet file",
        "prefix:MB:5",
        "pet",
        _issues(
            ("stitches came loose", "my dog's stitches came loose overnight"),
            ("vaccine card is wrong", "the vaccine card has the wrong dates"),
            ("charged for a second x-ray", "I was charged for a second x-ray nobody did"),
            ("prescription food never arrived", "the prescription food never arrived"),
        ),
        (
            FactSpec("appointment", "check-up"),
            FactSpec("contact_time"),
            FactSpec("address", "home address", "the food delivery"),
        ),
    ),
    Domain(
        "school",
        "Hollybank Academy",
        "+18775550153",
        "office@hollybank.example.org",
        "student ID",
        "prefix:HB:6",
        "child",
        _issues(
            ("bus skipped our stop", "the school bus skipped our stop twice this week"),
            ("lunch account shows zero", "the lunch account shows zero after I topped it up"),
            ("report card has the wrong grade", "the report card has the wrong grade for science"),
            ("trip fee was taken twice", "the trip fee was taken twice from my card"),
        ),
        (
            FactSpec("appointment", "parent meeting"),
            FactSpec("contact_time"),
            FactSpec("address", "home address", "the letters"),
        ),
    ),
)

# --------------------------------------------------------------------------- people and values

FIRST_NAMES = (
    "Ines",
    "Tomasz",
    "Keiko",
    "Rafael",
    "Odile",
    "Bram",
    "Nadia",
    "Callum",
    "Priti",
    "Joaquin",
    "Maren",
    "Sefa",
    "Hollis",
    "Dagny",
    "Anouk",
    "Ezra",
    "Marisol",
    "Teodor",
    "Wren",
    "Kofi",
)
LAST_NAMES = (
    "Halvorsen",
    "Okafor",
    "Brennan",
    "Castellanos",
    "Dufresne",
    "Ekwueme",
    "Fairweather",
    "Gallardo",
    "Hoffstetter",
    "Ishikawa",
    "Jablonski",
    "Kowalczyk",
    "Lindqvist",
    "Marchetti",
    "Nakagawa",
    "Oduya",
    "Pettersen",
    "Quintero",
    "Rasmussen",
    "Szabo",
    "Thibodeaux",
    "Underhill",
    "Valdivia",
    "Whitcombe",
    "Yilmaz",
    "Zamora",
    "Achterberg",
    "Bellweather",
    "Cardenas",
    "Delacroix",
    "Esposito",
    "Fenwick",
    "Grunewald",
    "Haddad",
    "Ivanova",
    "Jorgensen",
)
STREETS = (
    "Larchmont",
    "Foxglove",
    "Tamarack",
    "Quillon",
    "Heronsgate",
    "Millbrook",
    "Juniper",
    "Ashcombe",
    "Pellham",
    "Sorrel",
)
STREET_SUFFIXES = ("Road", "Rd", "Lane", "Ln", "Avenue", "Ave", "Court", "Way", "Terrace", "Place")
AREA_CODES = (
    "212",
    "213",
    "303",
    "305",
    "312",
    "402",
    "406",
    "412",
    "503",
    "512",
    "602",
    "603",
    "615",
    "617",
    "702",
    "704",
    "719",
    "801",
    "802",
    "907",
    "916",
    "919",
    "971",
    "978",
)
EMAIL_HOSTS = ("example.com", "example.net", "example.org")
SLUG_WORDS = (
    "amber",
    "birch",
    "cedar",
    "delta",
    "ember",
    "fjord",
    "granite",
    "harbor",
    "indigo",
    "jasper",
    "kestrel",
    "lumen",
    "meadow",
    "north",
    "opal",
    "pine",
    "quartz",
    "river",
    "summit",
    "tide",
)
ALT_PHONE_OWNERS = (
    "my sister's",
    "my dad's",
    "a coworker's",
    "my neighbour's",
    "my partner's",
    "the office",
    "my son's",
    "a friend's",
)
CONTACT_TIMES = (
    "after 6pm",
    "before 9am",
    "weekday mornings",
    "lunchtime only",
    "after 7:30pm",
    "Saturday afternoons",
    "between 1pm and 3pm",
)
TIMES = (
    "8:30am",
    "9:15am",
    "10:00am",
    "10:45am",
    "11:30am",
    "12:20pm",
    "2:40pm",
    "3:00pm",
    "3:50pm",
    "4:30pm",
    "5:10pm",
)
JOB_TITLES = (
    "Logistics Coordinator",
    "Senior Nurse",
    "Product Designer",
    "Site Foreman",
    "Paralegal",
    "Head Chef",
    "Account Executive",
    "Lab Technician",
)
EMPLOYERS = (
    "Greyfriars Holdings",
    "Bluefin Analytics",
    "Oakhurst Medical Group",
    "Tideline Builders",
    "Marrow & Vine LLP",
    "Copperkettle Bistro",
)
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

# --------------------------------------------------------------------------- phrasings

OPENINGS_NEUTRAL = (
    "Hi, writing about {key_label} {key}: {issue}. Could someone look into it?",
    "Hello, {issue}. My {key_label} is {key}.",
    "Reporting a problem with {key_label} {key} - {issue}.",
    "Hi there, quick one about {key_label} {key}. {issue}, what are my options?",
    "Good morning. {issue} ({key_label} {key}). Please advise.",
)
OPENINGS_NEGATIVE = (
    "Really annoyed right now: {issue}. {key_label} {key}. Please fix this.",
    "{issue}, and nobody warned me. This is not okay. {key_label} {key}.",
    "I'm fed up: {issue}. My {key_label} is {key} and I want this sorted today.",
    "Seriously disappointed. {issue}. Reference: {key_label} {key}.",
    "Not impressed at all, {issue}. {key_label} {key}.",
)
FACT_STATES: dict[str, tuple[str, ...]] = {
    "address": (
        "Please send {thing} to {value}.",
        "The {label} is {value}.",
        "Could you use {value} as the {label}?",
        "For {thing}, the address is {value}.",
        "{thing} should go to {value}, thanks.",
    ),
    "appointment": (
        "Just confirming the {label}: {date} at {time}.",
        "Please book me in for the {label} on {date} at {time}.",
        "Can we do the {label} on {date}, {time}?",
        "I've got the {label} down for {date} at {time}, is that right?",
        "The {label} works for me on {date} at {time}.",
    ),
    "plan": (
        "We're on the {value} plan at the moment.",
        "My plan says {value}.",
        "Current plan is {value}, if that helps.",
        "The account is on {value}.",
    ),
    "quantity": (
        "We have {value} at the moment.",
        "It's {value} in total.",
        "Please note we're at {value}.",
        "Right now it's {value}.",
    ),
    "member_id": (
        "My {label} is {value}.",
        "The {label} on my card is {value}.",
        "For the paperwork, {label}: {value}.",
        "You'll need my {label}, it's {value}.",
    ),
    "vendor": (
        "Please authorise {value} to do the repair.",
        "I'd like {value} to handle the work.",
        "Can you approve {value} for the job?",
        "The shop I picked is {value}.",
    ),
    "contact_time": (
        "Best time to call me is {value}.",
        "Please only ring me {value}.",
        "I can take calls {value}.",
        "If you need me, phone {value}.",
    ),
    "unit": (
        "Forgot to say, it's {value}.",
        "Oh and the flat is {value}.",
        "Please add {value} to the address.",
        "Buzz {value} when you get there.",
    ),
}
FACT_UPDATES: dict[str, tuple[str, ...]] = {
    "address": (
        "Change of address: {value}.",
        "I've moved, please use {value} from now on.",
        "Scratch the old address, {thing} should go to {value} now.",
        "New {label} is {value}, the old one is no longer valid.",
        "We relocated last weekend, so it's {value} from here on.",
    ),
    "appointment": (
        "Something came up, can we move the {label} to {date} at {time}?",
        "Please reschedule the {label} to {date}, {time}.",
        "I need to push the {label} to {date} at {time} instead.",
        "Change of plan for the {label}: {date} at {time} now.",
    ),
    "plan": (
        "We switched to {value} this morning.",
        "Just upgraded to {value} through the app.",
        "We've moved over to {value} now.",
        "Heads up, the account is on {value} as of today.",
    ),
    "quantity": (
        "Make it {value}.",
        "Update: we need {value} now.",
        "Change that to {value} please.",
        "Plans changed, it's {value} now.",
    ),
    "member_id": (
        "I switched insurers, new {label} {value}.",
        "My {label} changed, it's {value} now.",
        "Please replace the {label} with {value}.",
        "New card came, {label} is {value}.",
    ),
    "vendor": (
        "Actually please use {value} instead.",
        "Change of shop: {value} can do it sooner.",
        "Go with {value} after all, the first place is booked up.",
        "We'd rather have {value} do the work now.",
    ),
    "contact_time": (
        "My hours changed, call me {value} now.",
        "New schedule, so please ring {value} instead.",
        "Better to reach me {value} from now on.",
        "Switch the call time to {value} please.",
    ),
    "reference": (
        "I was rebooked, the new reference is {value}.",
        "The agent gave me a new {label}: {value}.",
        "Please use {value} now, the old {label} was cancelled.",
        "Updated {label} after the change: {value}.",
    ),
}
SPOKEN_ADDRESS = (
    "one more thing the address for {thing} is {value}",
    "oh and it's {value} for {thing}",
    "just to add please send {thing} to {value}",
    "quick detail the {label} is {value}",
)
SPOKEN_UPDATE_ADDRESS = (
    "i've moved so the new address is {value}",
    "please change the address to {value} we moved",
)
FOLLOW_UPS: dict[str, tuple[str, ...]] = {
    "sms": (
        "any update on this?",
        "hi, just checking where things are",
        "whats the eta on this?",
        "is there any news?",
        "quick q, has anything moved on this",
        "hello? still waiting to hear back",
    ),
    "email": (
        "Just checking in on the status of this. Let me know if you need anything else from me.",
        "Could you let me know where things stand?",
        "Following up on my earlier message, is there an update?",
        "Is there anything else you need from me to move this forward?",
        "Any news on this? I haven't heard back yet.",
    ),
    "voice": (
        "hi just checking in on my {topic}",
        "hello yeah quick question about my {topic}",
        "hi is there any news on the {topic}",
        "hey i'm calling to see where my {topic} stands",
        "hi there any progress on the {topic} at all",
    ),
}
NEGATIVES: dict[str, tuple[str, ...]] = {
    "sms": (
        "this is ridiculous, still nothing",
        "honestly fed up now",
        "third time asking. not happy",
        "ugh, still broken and nobody called back",
        "really disappointed with how this is going",
        "seriously? no reply again",
    ),
    "email": (
        "I'm frankly appalled at how long this is taking.",
        "This is the fourth time I've had to chase this and I'm losing patience.",
        "I'm very unhappy with the service so far and I expect a proper answer today.",
        "Nobody has called me back as promised, which is extremely frustrating.",
        "I'm close to cancelling over this. Please escalate it.",
    ),
    "voice": (
        "yeah hi i'm calling again because nobody has fixed this and i'm really annoyed",
        "hi this is the third call this week and honestly it's unacceptable",
        "hello i've been on hold forever and i'm fed up with this",
        "hi i'm really upset nobody has called me back about my {topic}",
    ),
}
POSITIVES: dict[str, tuple[str, ...]] = {
    "sms": (
        "all sorted now, thank you so much!",
        "got it, you're all stars, thanks",
        "that worked perfectly, really appreciate it",
        "brilliant, thanks for the quick fix",
        "amazing, thank you for sorting this",
    ),
    "email": (
        "Just wanted to say thank you, everything is sorted now and I really appreciate your help.",
        "Thanks so much to your team, this was handled brilliantly.",
        "Great news, it's all fixed. Thank you for your patience with me.",
        "I'm really pleased with how quickly you resolved this. Many thanks.",
    ),
    "voice": (
        "hi just calling to say thanks it's all working now",
        "hello yeah i wanted to say thank you everything's fixed you were great",
        "hi i got the update and i'm really happy thanks a lot",
        "hey just a quick call to say thank you that was brilliant",
    ),
}
SMS_FILLERS = (
    "ok",
    "k thanks",
    "battery at 3%, will text later",
    "on the train, signal is awful, back in a bit",
    "sorry wrong chat lol",
    "np",
    "driving, will reply later",
)
NOISY_CALLS = (
    "hello hello can you hear me i'm in the car and the signal keeps dropping i'll ring back",
    "hi sorry the dog is barking like crazy give me a second never mind i'll call later",
    "hey i'm at the train station and it's so loud i can't hear a thing i'll try again",
    "hello is this is this support sorry my kid grabbed the phone bye",
)
CHIT_CHAT = (
    "We finally repainted the kitchen last weekend, so everything smells of primer and I've been "
    "working from the garden table.",
    "My neighbour's cat has decided our porch is its new office, which is lovely but means I trip "
    "over it every morning.",
    "I've just come back from a week at my in-laws' place, so I'm still catching up on a mountain "
    "of post and laundry.",
    "Our football club made the regional final on Saturday, so apologies if I sound distracted, "
    "it has been a loud week at home.",
    "I switched laptops recently and half my bookmarks vanished, so I'm doing everything the slow "
    "way at the moment.",
    "By the way, does your website have a dark mode? My eyes are not what they used to be.",
    "I'm also curious whether you run any referral offers; a colleague asked me about it.",
    "Unrelated, but the hold music has been stuck in my head all week, so well done to whoever "
    "picked it.",
)
CHATTY_SMS = (
    "sorry for the rant earlier, week from hell. boiler died, kid has a cold and my car is in the "
    "shop. anyway not ur fault",
    "lol my phone autocorrected ur company name to something rude, apologies if that got through",
)
GREETINGS = ("Hi,", "Hello,", "Hi there,", "Good morning,", "Dear {company} team,", "Hello team,")
CLOSINGS = ("Best,", "Kind regards,", "Thanks,", "Cheers,", "Many thanks,", "All the best,")
DISCLAIMERS = (
    "CONFIDENTIALITY NOTICE: This e-mail and any attachments are for the sole use of the intended "
    "recipient. If you are not the intended recipient, please notify the sender and destroy all "
    "copies.",
    "This message may contain privileged information. Unauthorised use, disclosure or copying is "
    "prohibited. Please consider the environment before printing this e-mail.",
    "Legal notice: the views expressed in this e-mail are those of the sender and do not "
    "necessarily reflect those of the company. No contract may be concluded by e-mail.",
)
MOBILE_FOOTERS = ("Sent from my iPhone", "Sent from my Galaxy", "Get Outlook for Android")
BUSINESS_QUOTES = (
    "Thanks for getting in touch. A member of our team will reply within two working days.",
    "We're sorry for the wait. Your message is in our queue and we will be in touch shortly.",
    "We have passed your request on to the relevant team.",
)
OLD_VALUE_QUOTES: dict[str, tuple[str, ...]] = {
    "address": (
        "Confirmed: {thing} will go to {value}.",
        "We have {value} as the {label} on file.",
    ),
    "appointment": ("Your {label} is booked for {date} at {time}.",),
    "plan": ("Our records show the {value} plan on your account.",),
    "quantity": ("Your account currently shows {value}.",),
    "member_id": ("We have {label} {value} on file.",),
    "vendor": ("We've noted {value} as your chosen repairer.",),
    "contact_time": ("We will call you {value} as requested.",),
    "reference": ("Your {label} {value} is confirmed.",),
}
AGENT_NAMES = ("Marta", "Dev", "Ollie", "Sun-hee", "Pablo")
STATED_EMAIL = (
    "this is {name} btw, reach me at {email} pls",
    "you can email me at {email} - {name}",
    "{name} here, my email is {email} for the forms",
    "pls send updates to {email}, thx ({name})",
)
PHONE_IN_BODY = (
    "You can text me at {phone}.",
    "Feel free to call me on {phone}.",
    "My mobile is {phone} if that's easier.",
)
ALT_CALL_OPENERS = (
    "hi this is {name} calling from {owner} phone as mine is broken it's {key_label} {key}",
    "hello {name} here using {owner} phone my battery died it's {key_label} {key}",
    "hi it's {name} on {owner} phone calling about {key_label} {key}",
    "yeah hello my name is {name} i'm on {owner} phone about {key_label} {key}",
)
TYPOS = {
    "order": "ordr",
    "account": "acount",
    "booking": "bokking",
    "reference": "refrence",
    "please": "plz",
    "address": "adress",
    "appointment": "apointment",
    "thanks": "thx",
    "tomorrow": "tmrw",
    "because": "bc",
    "number": "numbr",
    "delivery": "delivry",
}
SPEECH_FILLERS = ("um", "uh", "like", "you know", "so", "yeah")


# --------------------------------------------------------------------------- rendering helpers


def _compose(template: str, **values: str) -> Segments:
    """Split a template into literal text and protected values."""
    segments: Segments = []
    for literal, name, _spec, _conv in string.Formatter().parse(template):
        if literal:
            segments.append((False, literal))
        if name is not None:
            segments.append((True, values[name]))
    return segments


def _capitalise_first(segments: Segments) -> Segments:
    """Upper-case the first letter and every literal letter that starts a sentence."""
    if not segments:
        return segments
    protected, text = segments[0]
    capitalised = [(protected, text[:1].upper() + text[1:]), *segments[1:]]
    return [
        (p, t if p else re.sub(r"([.!?] )([a-z])", lambda m: m.group(1) + m.group(2).upper(), t))
        for p, t in capitalised
    ]


def _sentence_case(text: str) -> str:
    return text[:1].upper() + text[1:]


def _join(segments: Segments) -> str:
    return "".join(text for _protected, text in segments)


def _as_sms(rng: random.Random, segments: Segments, typo_rate: float) -> tuple[str, bool]:
    """Casual SMS text: lower-case start, no final full stop, and the odd typo."""
    typed = False
    pieces: list[str] = []
    for protected, text in segments:
        if protected:
            pieces.append(text)
            continue

        def swap(match: re.Match[str]) -> str:
            nonlocal typed
            word = match.group(0)
            if word.lower() in TYPOS and rng.random() < typo_rate:
                typed = True
                return TYPOS[word.lower()]
            return word

        pieces.append(re.sub(r"[A-Za-z]+", swap, text))
    body = "".join(pieces).strip()
    if body.endswith(".") and rng.random() < 0.7:
        body = body[:-1]
    if body and not segments[0][0] and rng.random() < 0.6:
        body = body[0].lower() + body[1:]
    return body, typed


def _as_speech(rng: random.Random, segments: Segments, disfluency: float) -> str:
    """What speech recognition returns: lower case, no punctuation, fillers and repeats."""
    words: list[str] = []
    for protected, text in segments:
        if protected:
            words.append(text.lower())
            continue
        for word in re.sub(r"[^\w\s']", " ", text.lower()).split():
            if rng.random() < disfluency:
                words.append(rng.choice(SPEECH_FILLERS))
            words.append(word)
            if rng.random() < disfluency / 3:
                words.append(word)
    return " ".join(words)


def _spell_key(key: str, rng: random.Random) -> str:
    """A reference key as a caller reads it out: digits as words, letters one by one."""
    if re.fullmatch(r"[a-z]+-[a-z]+-\d+", key):
        first, second, number = key.split("-")
        digits = " ".join(DIGIT_WORDS[int(d)] for d in number) if rng.random() < 0.5 else number
        return f"{first} {second} {digits}"
    spoken: list[str] = []
    for char in key:
        if char.isdigit():
            spoken.append("oh" if char == "0" and rng.random() < 0.3 else DIGIT_WORDS[int(char)])
        elif char.isalpha():
            spoken.append(char.lower())
    return " ".join(spoken)


def _format_phone_for_text(phone: str, rng: random.Random) -> str:
    area, prefix, line = phone[2:5], phone[5:8], phone[8:]
    return rng.choice(
        (
            f"({area}) {prefix}-{line}",
            f"{area}.{prefix}.{line}",
            f"{area}-{prefix}-{line}",
            f"+1 {area} {prefix} {line}",
            f"{area} {prefix} {line}",
        )
    )


def _long_date(moment: dt.datetime) -> str:
    return f"{moment:%A}, {moment:%B} {moment.day}, {moment.year}"


def _clock(moment: dt.datetime) -> str:
    return f"{moment:%I:%M %p}".lstrip("0")


def _fold(text: str) -> str:
    return " ".join(text.lower().split())


# --------------------------------------------------------------------------- journey state


@dataclass
class Customer:
    name: str
    phone: str
    email: str
    alt_phone: str | None = None

    @property
    def first(self) -> str:
        return self.name.split()[0]


@dataclass
class Fact:
    """One changeable fact of the journey; `values` are the successive values (each a tuple of
    needles, e.g. date and time)."""

    spec: FactSpec
    values: list[tuple[str, ...]]


@dataclass
class Event:
    payload: dict[str, str]
    identity: str
    tone: str | None
    stated: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)


@dataclass
class JourneyState:
    domain: Domain
    customer: Customer
    key: str
    issue: Issue
    start: dt.datetime
    rng: random.Random
    linked: set[str]
    events: list[Event] = field(default_factory=list)
    tags: set[str] = field(default_factory=set)
    links: list[tuple[str, str, int]] = field(default_factory=list)
    subject: str = ""
    clock: dt.datetime | None = None

    def next_time(self) -> dt.datetime:
        step = self.rng.choice(
            (
                dt.timedelta(minutes=self.rng.randint(4, 90)),
                dt.timedelta(hours=self.rng.randint(2, 20), minutes=self.rng.randint(0, 59)),
                dt.timedelta(
                    days=1, hours=self.rng.randint(0, 23), minutes=self.rng.randint(0, 59)
                ),
            )
        )
        self.clock = self.start if self.clock is None else self.clock + step
        return self.clock


# --------------------------------------------------------------------------- event writers


def _add_event(
    state: JourneyState,
    channel: str,
    identity: str,
    text: str,
    tone: str | None,
    *,
    stated: Sequence[str] = (),
    replaced: Sequence[str] = (),
    subject: str | None = None,
) -> None:
    moment = state.next_time().strftime("%Y-%m-%dT%H:%M:00Z")
    customer, domain = state.customer, state.domain
    if channel == "email":
        payload = {
            "t": moment,
            "channel": "email",
            "from": customer.email,
            "to": domain.email,
            "subject": subject or state.subject,
            "body": text,
        }
    else:
        number = customer.alt_phone if identity == "alt" else customer.phone
        payload = {"t": moment, "channel": channel, "from": number or "", "to": domain.phone}
        payload["speech" if channel == "voice" else "body"] = text
    stated = [*stated, customer.name] if customer.name.lower() in text.lower() else stated
    state.events.append(Event(payload, identity, tone, list(stated), list(replaced)))


def _link(state: JourneyState, one: str, other: str) -> None:
    """Record that, from the latest event on, `one` and `other` are known to be one customer."""
    state.links.append((one, other, len(state.events) - 1))
    state.linked.update((one, other))


def _connected(state: JourneyState, identity: str, index: int) -> set[str]:
    """The identities a memory could know belong with `identity` right after event `index`."""
    reached = {identity}
    changed = True
    while changed:
        changed = False
        for one, other, at in state.links:
            if at <= index and (one in reached) != (other in reached):
                reached.update((one, other))
                changed = True
    return reached


def _email_body(
    state: JourneyState,
    paragraphs: Sequence[str],
    *,
    chatter: int = 0,
    quote: str | None = None,
    signature_phone: str | None = None,
) -> tuple[str, bool]:
    """Greeting, paragraphs (optionally buried between chit-chat), sign-off, signature, legal
    footer and an optional quoted earlier business message. Returns the body and whether the
    content sits between chit-chat paragraphs."""
    rng, customer = state.rng, state.customer
    chat = rng.sample(CHIT_CHAT, k=chatter)
    split = rng.randint(1, chatter - 1) if chatter >= 2 else chatter
    body_parts = [*chat[:split], *paragraphs, *chat[split:]]
    buried = 0 < split < chatter
    greeting = rng.choice(GREETINGS).format(company=state.domain.company)
    lines = [greeting, "", "\n\n".join(body_parts), "", rng.choice(CLOSINGS)]
    signature = customer.name if rng.random() < 0.6 else customer.first
    lines.append(signature)
    if rng.random() < 0.4:
        lines.append(f"{rng.choice(JOB_TITLES)} | {rng.choice(EMPLOYERS)}")
    if signature_phone:
        lines.append(f"{rng.choice(('Cell', 'Mobile', 'M', 'Tel'))}: {signature_phone}")
    if rng.random() < 0.25:
        lines += ["", rng.choice(MOBILE_FOOTERS)]
    if rng.random() < 0.35:
        lines += ["", rng.choice(DISCLAIMERS)]
    if quote is None and state.events and rng.random() < 0.3:
        quote = rng.choice(BUSINESS_QUOTES)
    if quote is not None:
        lines += ["", _quoted(state, quote)]
    return "\n".join(lines), buried


def _quoted(state: JourneyState, quote: str) -> str:
    """An earlier business reply quoted below the customer's text, in a mail client's style."""
    rng, domain = state.rng, state.domain
    sent = (state.clock or state.start) - dt.timedelta(hours=rng.randint(1, 30))
    sender = f"{domain.company} Support <{domain.email}>"
    agent = rng.choice(AGENT_NAMES)
    reply = [f"Hi {state.customer.first},", "", quote, "", agent, f"{domain.company} Support"]
    if rng.random() < 0.6:
        header = (
            f"On {sent:%a}, {sent:%b} {sent.day}, {sent.year} at {_clock(sent)} {sender} wrote:"
        )
        return header + "\n" + "\n".join(f"> {line}".rstrip() for line in reply)
    rule = rng.choice(("-----Original Message-----", "________________________________"))
    header = [
        rule,
        f"From: {sender}",
        f"Sent: {_long_date(sent)} {_clock(sent)}",
        f"To: {state.customer.email}",
        f"Subject: {state.subject}",
    ]
    return "\n".join([*header, "", *reply])


def _say(
    state: JourneyState,
    channel: str,
    identity: str,
    segments: Segments,
    tone: str | None,
    *,
    stated: Sequence[str] = (),
    replaced: Sequence[str] = (),
    quote: str | None = None,
    chatter: int = 0,
    subject: str | None = None,
    signature_phone: str | None = None,
) -> None:
    """Render one customer statement on a channel and record it."""
    rng = state.rng
    if channel == "sms":
        text, typed = _as_sms(rng, segments, typo_rate=0.35 if rng.random() < 0.4 else 0.0)
        if typed:
            state.tags.add("typo")
    elif channel == "voice":
        opener = rng.choice(("", "hi ", "hey ", "yeah hi ", "hello "))
        text = _as_speech(rng, [(False, opener), *segments], disfluency=rng.choice((0.0, 0.1, 0.2)))
    else:
        text, buried = _email_body(
            state,
            [_join(_capitalise_first(segments))],
            chatter=chatter,
            quote=quote,
            signature_phone=signature_phone,
        )
        if buried:
            state.tags.add("buried_fact")
        if quote is not None and replaced:
            state.tags.add("quoted_old_value")
    _add_event(
        state, channel, identity, text, tone, stated=stated, replaced=replaced, subject=subject
    )


def _channel(state: JourneyState, allowed: Iterable[str] = ("sms", "email", "voice")) -> str:
    """A channel whose identity is already linked (the primary phone counts for sms and voice)."""
    options = [c for c in allowed if (c == "email" and "email" in state.linked) or c != "email"]
    if "phone" not in state.linked:
        options = [c for c in options if c == "email"]
    return state.rng.choice(options or ["email"])


def _identity(channel: str) -> str:
    return "email" if channel == "email" else "phone"


# --------------------------------------------------------------------------- beats


Beat = Callable[[JourneyState], None]


def _beat_opening(channel: str, negative: bool) -> Beat:
    def run(state: JourneyState) -> None:
        rng = state.rng
        templates = OPENINGS_NEGATIVE if negative else OPENINGS_NEUTRAL
        template = rng.choice(templates).replace("{key_label}", state.domain.key_label)
        segments = _capitalise_first(_compose(template, key=state.key, issue=state.issue.sentence))
        subject = rng.choice(
            (
                f"{_sentence_case(state.domain.key_label)} {state.key}",
                f"Problem with my {state.domain.topic}",
                f"{state.domain.topic.capitalize()} issue - {state.key}",
                "Need help please",
            )
        )
        state.subject = subject
        _say(
            state,
            channel,
            _identity(channel),
            segments,
            "negative" if negative else "neutral",
            stated=[state.key, state.issue.needle],
            chatter=rng.choice((0, 0, 2)) if channel == "email" else 0,
            subject=subject,
        )
        state.linked.add(_identity(channel))

    return run


def _fact_values(
    spec: FactSpec, rng: random.Random, state_values: list[str], start: dt.datetime
) -> tuple[str, ...]:
    """A fresh value for a fact, never a substring of (or containing) a value used before."""
    for _attempt in range(50):
        value = _new_fact_value(spec, rng, start)
        if not any(v in u or u in v for v in value for u in state_values):
            return value
    raise RuntimeError(f"no fresh value for {spec.kind}")


def _new_fact_value(spec: FactSpec, rng: random.Random, start: dt.datetime) -> tuple[str, ...]:
    match spec.kind:
        case "address":
            return (f"{rng.randint(12, 9899)} {rng.choice(STREETS)} {rng.choice(STREET_SUFFIXES)}",)
        case "appointment":
            day = start + dt.timedelta(days=rng.randint(12, 40))
            return (f"{day:%B} {day.day}", rng.choice(TIMES))
        case "plan" | "vendor":
            return (rng.choice(spec.values),)
        case "quantity":
            return (f"{rng.randint(11, 96)} {spec.label}",)
        case "member_id":
            return (f"{rng.choice('KMTVXZ')}{rng.randint(100000000, 999999999)}",)
        case "contact_time":
            return (rng.choice(CONTACT_TIMES),)
        case "unit":
            prefix = rng.choice(("Apt", "Unit", "Flat"))
            return (f"{prefix} {rng.randint(2, 29)}{rng.choice('ABCDEFH')}",)
    raise ValueError(spec.kind)


def _fact_segments(fact: Fact, template: str, values: tuple[str, ...], key_label: str) -> Segments:
    spec = fact.spec
    named = {"label": spec.label or key_label, "thing": spec.thing}
    if spec.kind == "appointment":
        return _compose(template, date=values[0], time=values[1], **named)
    return _compose(template, value=values[0], **named)


def _beat_fact(fact: Fact, version: int, *, spoken_ok: bool = True) -> Beat:
    """State (version 0) or replace (version >= 1) a fact's value."""

    def run(state: JourneyState) -> None:
        rng = state.rng
        values = fact.values[version]
        old = fact.values[version - 1] if version else ()
        kind = fact.spec.kind
        allowed = ["sms", "email"]
        if spoken_ok and kind in {"address", "plan", "quantity", "vendor", "contact_time"}:
            allowed.append("voice")
        channel = _channel(state, allowed)
        if channel == "voice" and kind == "address":
            template = rng.choice(SPOKEN_UPDATE_ADDRESS if version else SPOKEN_ADDRESS)
        else:
            template = rng.choice((FACT_UPDATES if version else FACT_STATES)[kind])
        segments = _fact_segments(fact, template, values, state.domain.key_label)
        if kind == "reference":
            state.key = values[0]
            state.subject = f"Rebooked - {values[0]}"
        if rng.random() < 0.3 and channel != "voice" and kind != "reference":
            lead = f"Re {state.domain.key_label} {state.key}: " if channel == "email" else ""
            segments = [(False, lead), *segments] if lead else segments
        quote = None
        if version and channel == "email" and rng.random() < 0.7:
            old_template = rng.choice(OLD_VALUE_QUOTES[kind])
            quote = _join(_fact_segments(fact, old_template, old, state.domain.key_label))
        chatter = rng.choice((0, 0, 1, 2, 3)) if channel == "email" else 0
        _say(
            state,
            channel,
            _identity(channel),
            segments,
            "neutral",
            stated=list(values),
            replaced=list(old),
            quote=quote,
            chatter=chatter,
        )
        if version:
            state.tags.add("update")

    return run


def _beat_tone(tone: str) -> Beat:
    def run(state: JourneyState) -> None:
        rng = state.rng
        channel = _channel(state)
        bank = {"negative": NEGATIVES, "positive": POSITIVES, "neutral": FOLLOW_UPS}[tone]
        template = rng.choice(bank[channel])
        segments = _compose(template, topic=state.domain.topic)
        if tone != "positive" and channel != "voice" and rng.random() < 0.3:
            segments = [
                (False, f"{_sentence_case(state.domain.key_label)} "),
                (True, state.key),
                (False, ". "),
                *_capitalise_first(segments),
            ]
        stated = [state.key] if any(text == state.key for _p, text in segments) else []
        subject = None
        if channel == "email":
            subject = {
                "negative": rng.choice(("Still waiting", "Escalation needed", "Very unhappy")),
                "positive": rng.choice(("Thank you!", "All sorted", "Thanks")),
                "neutral": rng.choice((f"Re: {state.subject}", "Following up", "Any news?")),
            }[tone]
        _say(state, channel, _identity(channel), segments, tone, stated=stated, subject=subject)

    return run


def _beat_distractor(state: JourneyState) -> None:
    rng = state.rng
    state.tags.add("distractor")
    channel = _channel(state)
    if channel == "sms":
        text = rng.choice(SMS_FILLERS if rng.random() < 0.7 else CHATTY_SMS)
        _add_event(state, "sms", "phone", text, None)
    elif channel == "voice":
        _add_event(
            state, "voice", "phone", _as_speech(rng, [(False, rng.choice(NOISY_CALLS))], 0.1), None
        )
    elif rng.random() < 0.5:
        back = (state.clock or state.start) + dt.timedelta(days=rng.randint(3, 9))
        subject = f"{rng.choice(('Automatic reply', 'Out of Office', 'Away'))}: {state.subject}"
        body = (
            f"{rng.choice(('I am out of the office', 'I am on leave', 'I am away'))} until "
            f"{back:%A} {back.day} {back:%B} with no access to e-mail. "
            f"{rng.choice(('I will reply when I am back.', 'Messages will be read on my return.'))}"
            f"\n\n{state.customer.name}"
        )
        _add_event(state, "email", "email", body, None, subject=subject)
    else:
        body, _buried = _email_body(state, [], chatter=rng.randint(2, 3))
        _add_event(state, "email", "email", body, None, subject=rng.choice(("Hello again", "Misc")))


def _beat_stated_email(state: JourneyState) -> None:
    rng, customer = state.rng, state.customer
    template = rng.choice(STATED_EMAIL)
    segments = _compose(template, name=customer.name, email=customer.email)
    text, _typed = _as_sms(rng, segments, typo_rate=0.0)
    _add_event(state, "sms", "phone", text, "neutral", stated=[customer.name, customer.email])
    _link(state, "phone", "email")
    state.tags.add("linked_by_stated_email")


def _beat_phone_in_text(state: JourneyState) -> None:
    rng, customer = state.rng, state.customer
    written = _format_phone_for_text(customer.phone, rng)
    if rng.random() < 0.5:
        body, _buried = _email_body(
            state, [rng.choice(FOLLOW_UPS["email"])], signature_phone=written
        )
    else:
        sentence = rng.choice(PHONE_IN_BODY).format(phone=written)
        body, _buried = _email_body(state, [rng.choice(FOLLOW_UPS["email"]) + " " + sentence])
    _add_event(state, "email", "email", body, "neutral", subject=f"Re: {state.subject}")
    _link(state, "email", "phone")
    state.tags.add("linked_by_phone_in_text")


def _beat_key_on_new_channel(fact: Fact | None) -> Beat:
    """The first message on the not-yet-linked channel repeats the key (and maybe a fact)."""

    def run(state: JourneyState) -> None:
        rng = state.rng
        channel = "email" if "email" not in state.linked else "sms"
        lead_template = rng.choice(
            ("re {key_label} {key}: ", "{key_label} {key} - ", "{key_label} {key}. ")
        )
        lead = _compose(lead_template.replace("{key_label}", state.domain.key_label), key=state.key)
        stated = [state.key]
        if fact is not None:
            template = rng.choice(FACT_STATES[fact.spec.kind])
            body = _fact_segments(fact, template, fact.values[0], state.domain.key_label)
            stated += list(fact.values[0])
            state.tags.add("linked_by_key_on_first_use")
        else:
            body = _compose(rng.choice(FOLLOW_UPS["sms"]))
        segments = [*lead, *body]
        if channel == "email":
            segments = _capitalise_first(segments)
        _say(
            state,
            channel,
            _identity(channel),
            segments,
            "neutral",
            stated=stated,
            subject=f"{_sentence_case(state.domain.key_label)} {state.key}",
        )
        _link(state, _identity(channel), state.events[0].identity)
        state.tags.add("linked_by_key")

    return run


def _beat_alt_call(first: bool) -> Beat:
    def run(state: JourneyState) -> None:
        rng, customer = state.rng, state.customer
        state.tags.add("alt_phone_call")
        if first:
            spelled = rng.random() < 0.75
            key = _spell_key(state.key, rng) if spelled else state.key
            if spelled:
                state.tags.add("key_spelled_out_on_call")
            segments = _compose(
                rng.choice(ALT_CALL_OPENERS),
                name=customer.name.lower(),
                owner=rng.choice(ALT_PHONE_OWNERS),
                key_label=state.domain.key_label,
                key=key,
            )
            stated = [customer.name] + ([] if spelled else [state.key])
        else:
            segments = _compose(rng.choice(FOLLOW_UPS["voice"]), topic=state.domain.topic)
            stated = []
        text = _as_speech(rng, segments, disfluency=rng.choice((0.1, 0.2)))
        _add_event(state, "voice", "alt", text, "neutral", stated=stated)
        if first:
            _link(state, "alt", state.events[0].identity)

    return run


# --------------------------------------------------------------------------- planning


@dataclass(frozen=True)
class Plan:
    case: str
    profile: dict[str, str] | None
    opening_channel: str
    links: tuple[str, ...]
    alt_calls: int


def _plan_identity(rng: random.Random, case: str, customer: Customer) -> Plan:
    full = {"name": customer.name, "phone": customer.phone, "email": customer.email}
    match case:
        case "a":
            return Plan(case, full, rng.choice(("sms", "email")), (), 0)
        case "b":
            link = rng.choice(("stated_email", "key", "key_fact"))
            opening = "sms" if link == "stated_email" else rng.choice(("sms", "email"))
            return Plan(case, None, opening, (link,), 0)
        case "c":
            if rng.random() < 0.5:
                return Plan(case, full, rng.choice(("sms", "email")), (), rng.randint(1, 3))
            return Plan(case, None, rng.choice(("sms", "email")), ("key_fact",), rng.randint(1, 3))
        case "d":
            return Plan(case, None, "email", ("phone_in_text",), 0)
    base = rng.choice(("stated_email", "phone_in_text", "key_fact"))
    profile = None
    if base == "stated_email" and rng.random() < 0.5:
        profile = {"name": customer.name, "email": customer.email}
    opening = {"stated_email": "sms", "phone_in_text": "email"}.get(
        base, rng.choice(("sms", "email"))
    )
    return Plan("mixed", profile, opening, (base,), rng.randint(1, 2))


def _choose_facts(rng: random.Random, domain: Domain, long: bool, start: dt.datetime) -> list[Fact]:
    specs = rng.sample(domain.facts, k=min(len(domain.facts), rng.randint(2, 4 if long else 3)))
    used: list[str] = []
    facts: list[Fact] = []
    for spec in specs:
        if spec.kind == "reference":
            continue
        fact = Fact(spec, [_fact_values(spec, rng, used, start)])
        used += fact.values[0]
        updatable = spec.kind != "unit" and (
            spec.kind not in {"plan", "vendor"} or len(spec.values) > 1
        )
        if updatable and rng.random() < 0.5:
            fact.values.append(_fact_values(spec, rng, used, start))
            used += fact.values[1]
        facts.append(fact)
    return facts


@dataclass(frozen=True)
class PlannedBeat:
    """A beat with the fact version it states, so an update can be placed after its original."""

    run: Beat
    fact_index: int | None = None
    version: int = 0


def _build_beats(
    state: JourneyState, plan: Plan, facts: list[Fact], long: bool, reference: Fact | None
) -> list[Beat]:
    rng = state.rng
    linking: list[Beat] = []
    carried: Fact | None = None
    for link in plan.links:
        if link == "stated_email":
            linking.append(_beat_stated_email)
        elif link == "phone_in_text":
            linking.append(_beat_phone_in_text)
        else:
            carried = facts[0] if link == "key_fact" else None
            linking.append(_beat_key_on_new_channel(carried))
    middle = [
        PlannedBeat(_beat_fact(fact, 0), index, 0)
        for index, fact in enumerate(facts)
        if fact is not carried
    ]
    middle += [
        PlannedBeat(_beat_distractor) for _ in range(rng.randint(*((3, 6) if long else (0, 2))))
    ]
    for _ in range(rng.randint(*((2, 4) if long else (0, 2)))):
        middle.append(PlannedBeat(_beat_tone(rng.choice(("neutral", "neutral", "negative")))))
    rng.shuffle(middle)
    head = rng.randint(0, min(2, len(middle)))
    for index, fact in enumerate(facts):
        for version in range(1, len(fact.values)):
            earliest = _after_version(middle, index, version - 1)
            if fact is carried and version == 1:
                earliest = head
            position = rng.randint(earliest, len(middle))
            middle.insert(position, PlannedBeat(_beat_fact(fact, version), index, version))
    if reference is not None:
        position = rng.randint(max(head, len(middle) // 2), len(middle))
        middle.insert(position, PlannedBeat(_beat_fact(reference, 1)))
    opening = _beat_opening(plan.opening_channel, negative=rng.random() < 0.45)
    beats = [opening, *(b.run for b in middle[:head]), *linking, *(b.run for b in middle[head:])]
    beats.append(_beat_tone(rng.choice(("positive", "positive", "negative", "neutral"))))
    if plan.alt_calls:
        at = rng.randint(1 + head + len(linking), len(beats))
        calls = [_beat_alt_call(first=True)]
        calls += [_beat_alt_call(first=False) for _ in range(plan.alt_calls - 1)]
        for offset, call in enumerate(calls):
            beats.insert(min(len(beats), at + offset * 2), call)
    return beats


def _after_version(middle: list[PlannedBeat], fact_index: int, version: int) -> int:
    """The position just after the beat stating `version` of a fact (0 when it is elsewhere)."""
    for position, beat in enumerate(middle):
        if beat.fact_index == fact_index and beat.version == version:
            return position + 1
    return 0


# --------------------------------------------------------------------------- probes


def _sentiment_at(events: list[Event], index: int) -> tuple[str, bool]:
    """The current mood at event `index` and whether that event itself carries a tone."""
    for event in reversed(events[: index + 1]):
        if event.tone is not None:
            return event.tone, events[index].tone is not None
    return "neutral", False


def _probes(state: JourneyState, facts: list[Fact], reference: Fact | None) -> list[dict[str, Any]]:
    rng, events = state.rng, state.events
    last = len(events) - 1
    wanted = rng.randint(1, 4 if len(events) >= 10 else 2)
    chosen = sorted({last, *rng.sample(range(1, len(events)), k=min(wanted, len(events) - 1))})
    probes = [_probe_at(state, index, facts, reference) for index in chosen[-wanted:]]
    return [probe for probe in probes if probe["needs"]]


def _probe_at(
    state: JourneyState, index: int, facts: list[Fact], reference: Fact | None
) -> dict[str, Any]:
    """What an agent answering event `index` must see: the values stated so far on identities
    a memory could already connect to this event's sender."""
    rng, events = state.rng, state.events
    reachable = _connected(state, events[index].identity, index)
    visible = [e for e in events[: index + 1] if e.identity in reachable]
    text = _fold(" ".join(_event_text(e.payload) for e in visible))
    stated = {value for e in visible for value in e.stated}
    replaced = list(dict.fromkeys(value for e in visible for value in e.replaced))
    current: list[str] = []
    for fact in facts:
        versions = [v for v in fact.values if all(x in stated for x in v)]
        if versions:
            current += [x for x in versions[-1] if x not in replaced]
    keys = [reference.values[-1][0], reference.values[0][0]] if reference else [state.key]
    key = next((k for k in keys if k in stated and k not in replaced), None)
    optional = [state.issue.needle, *current, state.customer.name]
    optional = [v for v in dict.fromkeys(optional) if v in stated and v != key]
    rng.shuffle(optional)
    needs = [n for n in ([key] if key else []) + optional[: rng.randint(1, 3)] if _fold(n) in text]
    stale = [s for s in replaced if not any(s in n or n in s for n in [*current, *needs])]
    probe: dict[str, Any] = {"after": index, "needs": needs, "stale": stale}
    mood, toned = _sentiment_at(events, index)
    if rng.random() < (0.75 if toned else 0.25):
        probe["sentiment"] = mood
    return probe


def _event_text(payload: dict[str, str]) -> str:
    return " ".join(payload.get(k, "") for k in ("subject", "body", "speech"))


# --------------------------------------------------------------------------- people


def _make_key(domain: Domain, rng: random.Random) -> str:
    fmt = domain.key_format
    if fmt.startswith("digits"):
        length = int(fmt.removeprefix("digits"))
        return str(rng.randint(2, 9)) + "".join(str(rng.randint(0, 9)) for _ in range(length - 1))
    if fmt == "slug":
        return f"{rng.choice(SLUG_WORDS)}-{rng.choice(SLUG_WORDS)}-{rng.randint(10, 99)}"
    if fmt == "code6":
        letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
        return "".join(rng.choice(letters + "23456789") for _ in range(6))
    _prefix, prefix, width = fmt.split(":")
    return f"{prefix}-{rng.randint(10 ** (int(width) - 1), 10 ** int(width) - 1)}"


def _make_customer(rng: random.Random) -> Customer:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    local = rng.choice(
        (
            f"{first}.{last}",
            f"{first[0]}{last}",
            f"{first}_{last}",
            f"{first}{rng.randint(10, 99)}",
            f"{last}.{first[0]}",
        )
    ).lower()
    return Customer(f"{first} {last}", _make_phone(rng), f"{local}@{rng.choice(EMAIL_HOSTS)}")


def _make_phone(rng: random.Random) -> str:
    return f"+1{rng.choice(AREA_CODES)}5550{rng.randint(100, 199)}"


# --------------------------------------------------------------------------- journeys


def _journey(
    rng: random.Random, journey_id: str, domain: Domain, case: str, start: dt.datetime
) -> dict[str, Any]:
    customer = _make_customer(rng)
    plan = _plan_identity(rng, case, customer)
    if plan.alt_calls:
        customer.alt_phone = _make_phone(rng)
        while customer.alt_phone == customer.phone:
            customer.alt_phone = _make_phone(rng)
    long = rng.random() < 0.3
    key = _make_key(domain, rng)
    known = {"phone", "email"} & set(plan.profile or ())
    state = JourneyState(domain, customer, key, rng.choice(domain.issues), start, rng, known)
    if len(known) == 2:
        state.links.append(("phone", "email", -1))
    facts = _choose_facts(rng, domain, long, start)
    reference = None
    if any(spec.kind == "reference" for spec in domain.facts) and rng.random() < 0.5:
        new_key = _make_key(domain, rng)
        reference = Fact(FactSpec("reference", domain.key_label), [(key,), (new_key,)])
    beats = _build_beats(state, plan, facts, long, reference)
    for beat in beats:
        beat(state)
    if len(state.events) >= 12:
        state.tags.add("long")
    private = _private_values(customer, key, facts, reference)
    journey: dict[str, Any] = {
        "id": journey_id,
        "domain": domain.name,
        "identity_case": plan.case,
        "tags": sorted(state.tags),
        "private": private,
    }
    if plan.profile:
        journey["profiles"] = [plan.profile]
    journey["events"] = [event.payload for event in state.events]
    journey["probes"] = _probes(state, facts, reference)
    return journey


def _private_values(
    customer: Customer, key: str, facts: list[Fact], reference: Fact | None
) -> list[str]:
    values = [key, *(reference.values[1] if reference else ())]
    for fact in facts:
        if fact.spec.kind in {"address", "member_id"}:
            values += [v[0] for v in fact.values]
    values += [customer.email, customer.name, customer.phone]
    if customer.alt_phone:
        values.append(customer.alt_phone)
    return list(dict.fromkeys(values))


def _collides(journey: dict[str, Any], accepted: list[dict[str, Any]]) -> bool:
    """Whether this journey's private strings show up in another journey, or theirs in it."""
    mine = _fold(" ".join(_event_blob(journey)))
    for other in accepted:
        theirs = _fold(" ".join(_event_blob(other)))
        if any(_fold(p) in theirs for p in journey["private"]):
            return True
        if any(_fold(p) in mine for p in other["private"]):
            return True
    return False


def _event_blob(journey: dict[str, Any]) -> list[str]:
    return [str(v) for event in journey["events"] for v in event.values()]


def _usable(journey: dict[str, Any]) -> bool:
    return bool(journey["probes"]) and len(journey["events"]) <= 20


def generate_journeys(*, count: int, seed: int) -> list[dict[str, Any]]:
    """`count` journeys, overlapping in time over a few weeks; the same seed gives the same
    journeys. Domains and identity cases rotate so small files are varied too."""
    file_rng = random.Random(seed)  # noqa: S311 - reproducible test data, not security
    domains = list(DOMAINS)
    file_rng.shuffle(domains)
    cases = list(IDENTITY_CASES)
    file_rng.shuffle(cases)
    file_start = FILE_START + dt.timedelta(days=file_rng.randint(0, 6))
    journeys: list[dict[str, Any]] = []
    for index in range(count):
        domain = domains[index % len(domains)]
        case = cases[index % len(cases)]
        start = file_start + dt.timedelta(minutes=file_rng.randint(0, 14 * 24 * 60))
        for attempt in range(100):
            rng = random.Random(f"{seed}:{index}:{attempt}")  # noqa: S311 - reproducible test data
            journey = _journey(rng, f"g{seed}-{index:03d}", domain, case, start)
            if _usable(journey) and not _collides(journey, journeys):
                break
        else:
            raise RuntimeError(f"could not generate journey {index} for seed {seed}")
        journeys.append(journey)
    return journeys


def write_journeys(path: Path | str, journeys: Iterable[dict[str, Any]]) -> None:
    """Write journeys as JSON Lines, one journey a line."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", encoding="utf-8") as handle:
        for journey in journeys:
            handle.write(json.dumps(journey, ensure_ascii=False) + "\n")
