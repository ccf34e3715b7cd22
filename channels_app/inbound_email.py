"""Reading an e-mail as SendGrid's Inbound Parse posts it: fields decoded in their own charsets,
HTML turned into text, and the new part of a reply told apart from quotes and signatures.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage, MIMEPart
from email.parser import BytesParser, HeaderParser
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser
from typing import Any


class InboundEmailInvalid(ValueError):
    """The post lacks what an e-mail needs (a sender address)."""


@dataclass(frozen=True)
class InboundEmail:
    """One inbound e-mail, as the webhook service needs it."""

    message_id: str
    sender: str
    sender_name: str
    recipient: str
    subject: str
    raw_text: str
    new_text: str
    in_reply_to: str = ""
    references: tuple[str, ...] = ()
    date: str = ""
    spam_score: str = ""
    attachments: tuple[dict[str, str], ...] = field(default=())
    sign_off: str = ""
    auto_reply: str = ""

    def metadata(self) -> dict[str, Any]:
        """What is kept beside the text: threading headers, spam score, attachment names."""
        found: dict[str, Any] = {
            "from": self.sender,
            "to": self.recipient,
            "message_id": self.message_id,
            "subject": self.subject,
        }
        if self.in_reply_to:
            found["in_reply_to"] = self.in_reply_to
        if self.references:
            found["references"] = list(self.references)
        if self.date:
            found["date"] = self.date
        if self.spam_score:
            found["spam_score"] = self.spam_score
        if self.attachments:
            found["attachments"] = list(self.attachments)
        if self.sign_off:
            found["sign_off"] = self.sign_off
        if self.auto_reply:
            found["auto_reply"] = self.auto_reply
        return found


# Multipart form fields, byte for byte ----------------------------------------------------------


def form_fields(*, body: bytes, content_type: str) -> dict[str, bytes]:
    """Split a multipart/form-data body into its fields' raw bytes.

    Django decodes every field as UTF-8, which mangles the ISO-8859-1 or Shift_JIS text
    SendGrid passes through untouched; the `charsets` field says how to decode each one.
    Files are kept as their filename and content type only.
    """
    envelope = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    parsed = BytesParser(policy=policy.HTTP).parsebytes(envelope + body)
    fields: dict[str, bytes] = {}
    if not parsed.is_multipart():
        return fields
    for part in parsed.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        filename = _header_text(part.get_filename, "")
        if filename:
            fields[f"{name}.file"] = json.dumps(
                {"filename": filename, "type": part.get_content_type()}
            ).encode()
            continue
        payload = part.get_payload(decode=True)
        fields[name] = payload if isinstance(payload, bytes) else b""
    return fields


def inbound_email_from_fields(fields: dict[str, bytes]) -> InboundEmail:
    """Build the e-mail from Inbound Parse's fields: the parsed form, or the raw MIME (`email`)."""
    if fields.get("email"):
        return inbound_email_from_mime(fields["email"])
    charsets = _charsets(fields.get("charsets", b""))

    def text_of(name: str) -> str:
        return _decode(fields.get(name, b""), charsets.get(name, "utf-8"))

    headers = HeaderParser(policy=policy.default).parsestr(text_of("headers"))
    raw_text = text_of("text")
    if not raw_text.strip() and fields.get("html"):
        raw_text = html_to_text(text_of("html"))
    attachments = tuple(json.loads(value) for key, value in fields.items() if key.endswith(".file"))
    return _assemble(
        headers=headers,
        sender_field=text_of("from") or _header(headers, "From"),
        recipient_field=text_of("to") or _header(headers, "To"),
        subject=text_of("subject") or _header(headers, "Subject"),
        raw_text=raw_text,
        spam_score=text_of("spam_score"),
        attachments=attachments,
    )


def inbound_email_from_mime(raw: bytes) -> InboundEmail:
    """Build the e-mail from a full MIME message (Inbound Parse's "send raw" mode)."""
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)  # noqa: S101 - policy.default makes EmailMessage
    plain = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    if plain is not None:
        raw_text = _part_text(plain)
    elif html is not None:
        raw_text = html_to_text(_part_text(html))
    else:
        raw_text = ""
    attachments = tuple(
        {"filename": _header_text(part.get_filename, ""), "type": part.get_content_type()}
        for part in message.iter_attachments()
    )
    return _assemble(
        headers=message,
        sender_field=_header(message, "From"),
        recipient_field=_header(message, "To"),
        subject=_header(message, "Subject"),
        raw_text=raw_text,
        spam_score="",
        attachments=attachments,
    )


def _assemble(
    *,
    headers: Any,
    sender_field: str,
    recipient_field: str,
    subject: str,
    raw_text: str,
    spam_score: str,
    attachments: tuple[dict[str, str], ...],
) -> InboundEmail:
    sender_name, sender = parseaddr(_without_nul(sender_field))
    if "@" not in sender:
        raise InboundEmailInvalid("the e-mail has no sender address")
    if len(sender) > MAX_ADDRESS_CHARS:
        raise InboundEmailInvalid("the sender address is longer than an address can be")
    recipients = [
        address
        for _, address in getaddresses([_without_nul(recipient_field)])
        if address and len(address) <= MAX_ADDRESS_CHARS
    ]
    sender_name = sender_name[:MAX_NAME_CHARS]
    subject = _without_nul(subject)[:MAX_SUBJECT_CHARS]
    raw_text = _without_nul(raw_text).replace("\r\n", "\n").strip()
    spam_score = _without_nul(spam_score)[:20]
    attachments = tuple(
        {str(key): _without_nul(str(value))[:300] for key, value in attachment.items()}
        for attachment in attachments
    )
    # Message ids are read from the raw header text: the parsed header object throws on
    # malformed ids ("<[>"), and only the <...> tokens matter for threading anyway.
    message_id = _bounded_id(_message_ids(_raw_header(headers, "Message-ID")))
    in_reply_to = _bounded_id(_message_ids(_raw_header(headers, "In-Reply-To")))
    references = tuple(
        _bounded_id(ref) for ref in _message_id_list(_raw_header(headers, "References"))
    )
    date = _raw_header(headers, "Date")[:100]
    new_text = reply_new_part(raw_text) or raw_text
    return InboundEmail(
        message_id=message_id or _stand_in_message_id(sender, date, subject, raw_text),
        sender=sender,
        sender_name=sender_name,
        recipient=recipients[0] if recipients else "",
        subject=subject.strip(),
        raw_text=raw_text,
        new_text=new_text,
        sign_off=reply_sign_off(raw_text, new_text=new_text),
        in_reply_to=in_reply_to,
        references=references,
        date=date,
        spam_score=spam_score.strip(),
        attachments=attachments,
        auto_reply=auto_reply_reason(headers=headers, subject=subject, sender=sender),
    )


# Automated mail (RFC 3834) ---------------------------------------------------------------------

# Out-of-office and auto-reply subjects in the languages customers most often write in.
_AUTOMATED_SUBJECT = re.compile(
    r"\b(?:out of (?:the )?office|automatic reply|auto[- ]?reply|autoresponse|auto[- ]?response"
    r"|abwesenheitsnotiz|automatische antwort|nicht im b(?:ü|ue)ro"
    r"|r[ée]ponse automatique|absence du bureau|message d'absence"
    r"|respuesta autom[aá]tica|fuera de la oficina"
    r"|risposta automatica|fuori (?:sede|ufficio)"
    r"|automatisch antwoord|afwezigheidsbericht|niet aanwezig"
    r"|resposta autom[aá]tica|fora do escrit[oó]rio"
    r"|automatiskt svar|autosvar|fraværende|frånvaro|poissa toimistolta"
    r"|odpowied[źz] automatyczna|poza biurem|automatick[aá] odpov[eě]d)",
    re.IGNORECASE,
)
_BULK_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply"})
_MAILER_DAEMONS = frozenset({"mailer-daemon", "postmaster"})


def auto_reply_reason(*, headers: Any, subject: str, sender: str) -> str:
    """Why this e-mail was sent by a machine and must not be answered, or "" for a person's.

    RFC 3834's `Auto-Submitted` (anything but `no`), the `X-Autoreply`/`X-Autorespond` family,
    `Precedence: bulk/junk/list`, mailing lists (`List-Id`), bounces (an empty Return-Path or a
    mailer daemon), and out-of-office subjects.
    """

    def header(name: str) -> str:
        try:
            return str(headers.get(name, "") or "").strip()
        except (ValueError, TypeError, IndexError, AttributeError):  # a malformed header
            return ""

    auto_submitted = header("Auto-Submitted").split(";")[0].strip().lower()
    if auto_submitted and auto_submitted != "no":
        return f"Auto-Submitted: {auto_submitted}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Autorespond-Sent", "X-Autogenerated"):
        if header(name):
            return f"{name}: {header(name)[:40]}"
    precedence = header("Precedence").lower()
    if precedence in _BULK_PRECEDENCE:
        return f"Precedence: {precedence}"
    if header("List-Id"):
        return "List-Id: mailing list"
    if header("Return-Path") == "<>" or sender.split("@")[0].lower() in _MAILER_DAEMONS:
        return "bounce"
    if _AUTOMATED_SUBJECT.search(subject):
        return "out-of-office subject"
    return ""


# Column sizes of what an e-mail is stored as: an identity's value, a display name, a subject, and
# the provider id / thread key a Message-ID becomes.
MAX_ADDRESS_CHARS = 254
MAX_NAME_CHARS = 200
MAX_SUBJECT_CHARS = 300
MAX_MESSAGE_ID_CHARS = 250


def _without_nul(text: str) -> str:
    """Text as it can be stored: PostgreSQL's text types cannot hold NUL characters."""
    return text.replace("\x00", "")


def _header(headers: Any, name: str) -> str:
    """A header's decoded text; its raw text when the header cannot be parsed (a bad encoded
    word, an unparseable address list), so one malformed header never loses the e-mail."""
    try:
        return str(headers.get(name, "") or "")
    except Exception:  # noqa: BLE001 - the email package raises many kinds on bad headers
        return _raw_header(headers, name)


def _header_text(read: Any, default: str) -> str:
    try:
        return str(read() or default)
    except Exception:  # noqa: BLE001 - as in _header: a malformed parameter, not a lost e-mail
        return default


def _raw_header(headers: Any, name: str) -> str:
    """A header's value as sent (unfolded), without the email package's parsing."""
    for found, value in headers.raw_items():
        if found.lower() == name.lower():
            return _without_nul(" ".join(str(value).split()))
    return ""


def _part_text(part: MIMEPart) -> str:
    """A MIME part's text; decoded as UTF-8 (bad bytes replaced) when its declared charset is
    unknown or wrong, rather than failing the whole e-mail."""
    try:
        return str(part.get_content())
    except (LookupError, UnicodeDecodeError, ValueError, AssertionError):
        payload = part.get_payload(decode=True)
        return payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""


def _bounded_id(message_id: str) -> str:
    """A Message-ID that fits the provider-id column: a long one becomes a digest of itself,
    the same every time, so threading by it still works."""
    if len(message_id) <= MAX_MESSAGE_ID_CHARS:
        return message_id
    digest = hashlib.sha256(message_id.encode()).hexdigest()
    return f"<{digest[:40]}@long-id.rapport.invalid>"


def _charsets(raw: bytes) -> dict[str, str]:
    try:
        found = json.loads(raw.decode("ascii") or "{}")
    except (ValueError, RecursionError):  # not JSON, or a number/nesting json refuses
        return {}
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}


def _decode(raw: bytes, charset: str) -> str:
    try:
        return raw.decode(charset or "utf-8")
    except (LookupError, UnicodeDecodeError):
        return raw.decode("utf-8", errors="replace")


_MESSAGE_ID = re.compile(r"<[^<>\s]+>")


def _message_id_list(header: str) -> list[str]:
    return _MESSAGE_ID.findall(header)


def _message_ids(header: str) -> str:
    found = _message_id_list(header)
    return found[0] if found else header.strip()


def _stand_in_message_id(sender: str, date: str, subject: str, text: str) -> str:
    """A Message-ID for mail that lacks one, stable across SendGrid's retries of it."""
    digest = hashlib.sha256("\n".join((sender, date, subject, text)).encode()).hexdigest()
    return f"<{digest[:40]}@rapport.invalid>"


# HTML to text ----------------------------------------------------------------------------------


class _TextOfHtml(HTMLParser):
    """Collect the readable text of an HTML mail, leaving out quoted history and markup."""

    BLOCKS = frozenset({"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "table", "hr"})
    HIDDEN = frozenset({"style", "script", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._stack: list[tuple[str, bool]] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        classes = (attributes.get("class") or "").split()
        quoted = (
            tag in self.HIDDEN
            or (tag == "blockquote" and attributes.get("type") == "cite")
            or "gmail_quote" in classes
            or "gmail_signature" in classes
            or attributes.get("id") in {"divRplyFwdMsg", "appendonsend"}
        )
        if tag in {"br", "hr", "img", "meta", "link", "input"}:
            if tag == "br" and not self._skipping:
                self.parts.append("\n")
            return
        self._stack.append((tag, quoted))
        if quoted:
            self._skipping += 1
        if tag in self.BLOCKS and not self._skipping:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        while self._stack:
            opened, quoted = self._stack.pop()
            if quoted:
                self._skipping -= 1
            if opened == tag:
                break
        if tag in self.BLOCKS and not self._skipping:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """The text a reader sees in an HTML-only mail, quoted history left out."""
    parser = _TextOfHtml()
    parser.feed(html)
    parser.close()
    lines = [re.sub(r"[ \t\xa0]+", " ", line).strip() for line in "".join(parser.parts).split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# The new part of a reply ------------------------------------------------------------------------

_REPLY_HEADERS = (
    re.compile(r"^\s*On\b.{0,200}\bwrote:\s*$", re.IGNORECASE),
    re.compile(r"^\s*Le\b.{0,200}\ba écrit\s*:\s*$", re.IGNORECASE),
    re.compile(r"^\s*Am\b.{0,200}\bschrieb.{0,80}:\s*$", re.IGNORECASE),
    re.compile(r"^\s*El\b.{0,200}\bescribió:\s*$", re.IGNORECASE),
    re.compile(r"^\s*-{2,}\s*(Original Message|Forwarded message)\s*-{2,}\s*$", re.IGNORECASE),
    re.compile(r"^\s*_{10,}\s*$"),
)
_OUTLOOK_HEADER = re.compile(r"^\s*From:\s.+$", re.IGNORECASE)
_OUTLOOK_FOLLOWER = re.compile(r"^\s*(Sent|Date|To|Subject):\s", re.IGNORECASE)
_SIGNATURE_DELIMITER = re.compile(r"^--\s?$")
_DEVICE_FOOTER = re.compile(r"^\s*(Sent from my |Sent from Mail for|Get Outlook for )", re.I)
_VALEDICTION = re.compile(
    r"^\s*(thanks|thank you|many thanks|thanks again|with thanks|regards|kind regards|"
    r"best regards|warm regards|best|best wishes|cheers|sincerely|yours sincerely|"
    r"yours truly|all the best|take care|respectfully)[\s,.!]*$",
    re.IGNORECASE,
)
_DISCLAIMER = re.compile(r"confidential|intended (solely )?for|privileged|disclaimer", re.I)
_SIGN_OFF_MAX_LINES = 6


def reply_new_part(text: str) -> str:
    """What the sender wrote this time: quoted history, the signature block and legal footer
    cut away. When unsure it keeps the text; the raw e-mail is stored beside it anyway.
    """
    lines = text.replace("\r\n", "\n").split("\n")
    lines = _before_quoted_history(lines)
    lines = [line for line in lines if not line.lstrip().startswith(">")]
    lines = _before_signature(lines)
    return "\n".join(lines).strip()


def reply_sign_off(text: str, *, new_text: str) -> str:
    """The sender's own sign-off under the new part (name, title, phone), without the quoted
    history, where the business's own addresses would be: who they say they are.
    """
    lines = _before_quoted_history(text.replace("\r\n", "\n").split("\n"))
    own = "\n".join(line for line in lines if not line.lstrip().startswith(">")).strip()
    if not new_text or not own.startswith(new_text):
        return ""
    return own[len(new_text) :].strip()[:1000]


def _before_quoted_history(lines: list[str]) -> list[str]:
    for index, line in enumerate(lines):
        if any(pattern.match(line) for pattern in _REPLY_HEADERS):
            return lines[:index]
        # "On Tue, 3 Mar 2026 at 10:00, Ana" / "<ana@example.com> wrote:" split over two lines.
        if index + 1 < len(lines) and re.match(r"^\s*On\b", line, re.I):
            joined = f"{line} {lines[index + 1]}"
            if any(pattern.match(joined) for pattern in _REPLY_HEADERS[:1]):
                return lines[:index]
        if _OUTLOOK_HEADER.match(line) and index + 1 < len(lines):
            if _OUTLOOK_FOLLOWER.match(lines[index + 1]):
                return lines[:index]
    return lines


def _before_signature(lines: list[str]) -> list[str]:
    for index, line in enumerate(lines):
        if _SIGNATURE_DELIMITER.match(line) or _DEVICE_FOOTER.match(line):
            lines = lines[:index]
            break
    for index in range(len(lines) - 1, -1, -1):
        if not _VALEDICTION.match(lines[index]):
            continue
        tail = [line for line in lines[index + 1 :] if line.strip()]
        looks_like_sign_off = len(tail) <= _SIGN_OFF_MAX_LINES or any(
            _DISCLAIMER.search(line) for line in tail
        )
        if looks_like_sign_off and index > 0:
            return lines[:index]
        break
    return _without_trailing_name(lines)


def _without_trailing_name(lines: list[str]) -> list[str]:
    """Drop a bare name closing the mail ("\\n\\nTheo"), which says nothing new."""
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    if len(lines) >= 3 and not lines[-2].strip():
        last = lines[-1].strip()
        if re.fullmatch(r"[A-Z][\w'-]*(\s[A-Z][\w'-]*){0,2}", last):
            return lines[:-2]
    return lines
