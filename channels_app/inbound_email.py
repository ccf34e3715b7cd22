"""Reading an e-mail as SendGrid's Inbound Parse posts it: fields decoded in their own charsets,
HTML turned into text, and the new part of a reply told apart from quotes and signatures.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
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
        filename = part.get_filename()
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
        sender_field=text_of("from") or str(headers.get("From", "")),
        recipient_field=text_of("to") or str(headers.get("To", "")),
        subject=text_of("subject") or str(headers.get("Subject", "")),
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
        raw_text = str(plain.get_content())
    elif html is not None:
        raw_text = html_to_text(str(html.get_content()))
    else:
        raw_text = ""
    attachments = tuple(
        {"filename": part.get_filename() or "", "type": part.get_content_type()}
        for part in message.iter_attachments()
    )
    return _assemble(
        headers=message,
        sender_field=str(message.get("From", "")),
        recipient_field=str(message.get("To", "")),
        subject=str(message.get("Subject", "")),
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
    sender_name, sender = parseaddr(sender_field)
    if "@" not in sender:
        raise InboundEmailInvalid("the e-mail has no sender address")
    recipients = [address for _, address in getaddresses([recipient_field]) if address]
    raw_text = raw_text.replace("\r\n", "\n").strip()
    message_id = _message_ids(str(headers.get("Message-ID", "")))
    in_reply_to = _message_ids(str(headers.get("In-Reply-To", "")))
    references = tuple(_message_id_list(str(headers.get("References", ""))))
    date = str(headers.get("Date", ""))
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
    )


def _charsets(raw: bytes) -> dict[str, str]:
    try:
        found = json.loads(raw.decode("ascii") or "{}")
    except (UnicodeDecodeError, json.JSONDecodeError):
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
