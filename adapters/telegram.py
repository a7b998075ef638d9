"""Telegram channels through python-telegram-bot's ``Bot`` (Bot API over HTTPS).

One attempt per call: ``publish`` sends one sendMessage or sendPhoto and either returns a
Receipt or raises one error from ``syndicator.errors``, chosen once by ``classify_error``
(the rules of platforms.md section 2.5). The endpoint comes from the channel's
``api_url``, so tests point the real client at ``FakeTelegramAPI`` over loopback.

The bot token is part of every request URL, so no message this module produces (errors or
logs) may contain it: error texts are scrubbed with ``syndicator.secrets.redact`` and by
replacing the token explicitly, and ``Bot.initialize()`` is never called because PTB puts the
token into the InvalidToken it raises there.
"""

from __future__ import annotations

import datetime as dtm
import logging
import re
import warnings
from collections.abc import Mapping
from http import HTTPStatus
from typing import ClassVar
from urllib.parse import quote

import httpx
from telegram import Bot, LinkPreviewOptions
from telegram import Message as TelegramMessage
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.request import HTTPXRequest

from syndicator.adapters.base import Adapter
from syndicator.adapters.telegram_html import TelegramHTMLError, parse_html, utf16_len
from syndicator.config import ChannelBase, TelegramChannel
from syndicator.errors import (
    AuthError,
    PermanentError,
    PublishError,
    RateLimited,
    TransientError,
    UncertainError,
)
from syndicator.model import Account, Limits, Message, Receipt
from syndicator.secrets import redact

__all__ = ["TelegramAdapter", "classify_error", "post_url"]

log = logging.getLogger(__name__)

PLATFORM = "telegram"
CAPTION_LIMIT = 1024

# 400 descriptions that mean the channel itself is misconfigured: every post would fail the
# same way until an admin fixes the chat id or the bot's rights, so the channel should pause.
_MISCONFIGURED = (
    "chat not found",
    "not enough rights",
    "need administrator rights",
    "have no rights",
    "chat_write_forbidden",
    "bot is not a member",
)
# 400 descriptions of sendPhoto when Telegram cannot use the image URL (Bot API: "wrong file
# identifier/HTTP URL specified", "failed to get HTTP URL content", "wrong type of the web
# page content", "IMAGE_PROCESS_FAILED", "PHOTO_INVALID_DIMENSIONS").
_PHOTO_REFUSED = re.compile(
    r"wrong file identifier|http url|failed to get http url content|wrong type of the web "
    r"page content|image_process_failed|photo_invalid_dimensions|photo_.*invalid", re.I)
# httpx errors raised after the request was written: Telegram may have acted on it.
_AFTER_SEND = (httpx.RemoteProtocolError, httpx.ReadError)


def _scrub(text: str, token: str | None) -> str:
    """Remove the bot token (plain and URL-quoted) and every other known secret."""
    text = redact(text)
    if token:
        for form in {token, quote(token, safe="")}:
            text = text.replace(form, "***")
    return text


def _retry_after_seconds(exc: RetryAfter) -> float:
    # PTB 22.2+ warns on reading the int form and returns a timedelta under PTB_TIMEDELTA=1.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = exc.retry_after
    if isinstance(value, dtm.timedelta):
        return value.total_seconds()
    return float(value)


def _status_from(message: str) -> int | None:
    """The HTTP status PTB folded into a NetworkError's text ("Bad Gateway (502)" or phrase)."""
    match = re.search(r"\((\d{3})\)", message)
    if match:
        return int(match.group(1))
    head = message.split(":", 1)[0].strip().lower()
    for status in HTTPStatus:
        if status.value >= 400 and status.phrase.lower() == head:
            return int(status.value)
    return None


def classify_error(exc: BaseException, *, token: str | None = None) -> PublishError:
    """Map one python-telegram-bot (or transport) exception to what the publisher should do.

    Pure: no I/O, no logging. ``token`` is scrubbed from the message. Specific PTB classes are
    tested before ``NetworkError`` because ``BadRequest`` and ``TimedOut`` subclass it, and
    texts are compared lower-cased because PTB capitalises (lower-cases) API descriptions.
    """
    text = _scrub(str(exc) or type(exc).__name__, token)
    low = text.lower()
    if isinstance(exc, RetryAfter):
        seconds = _retry_after_seconds(exc)
        return RateLimited(f"flood control: retry after {seconds:g}s", retry_after=seconds,
                           status=429, code="retry_after", platform=PLATFORM)
    if isinstance(exc, ChatMigrated):
        return PermanentError(
            f"the group became a supergroup: set chat: \"{exc.new_chat_id}\" in this channel's "
            "config", status=400, code="chat_migrated", platform=PLATFORM)
    if isinstance(exc, InvalidToken):
        return AuthError(f"Telegram rejected the bot token ({text}): check the bot_token env var",
                         status=401, code="invalid_token", platform=PLATFORM)
    if isinstance(exc, Forbidden):
        return AuthError(f"{text} (add the bot to the channel as an administrator that may post)",
                         status=403, code="forbidden", platform=PLATFORM)
    if isinstance(exc, Conflict | EndPointNotFound):
        status, code = (409, "conflict") if isinstance(exc, Conflict) else (404, "not_found")
        return PermanentError(text, status=status, code=code, platform=PLATFORM)
    if isinstance(exc, BadRequest):
        if any(marker in low for marker in _MISCONFIGURED):
            return AuthError(f"{text} (check the channel's chat and the bot's admin rights)",
                             status=400, code="chat_unusable", platform=PLATFORM)
        return PermanentError(text, status=400, code="bad_request", platform=PLATFORM)
    if isinstance(exc, TimedOut):
        if isinstance(exc.__cause__, httpx.ConnectTimeout | httpx.PoolTimeout):
            return TransientError(f"connecting to Telegram timed out; nothing was sent ({text})",
                                  code="connect_timeout", platform=PLATFORM)
        return UncertainError(
            f"no answer from Telegram in time; the post may have been published ({text})",
            code="read_timeout", platform=PLATFORM)
    if isinstance(exc, NetworkError):
        if isinstance(exc.__cause__, _AFTER_SEND):
            return UncertainError(
                f"the connection broke after the request was sent; the post may have been "
                f"published ({text})", code="connection_lost", platform=PLATFORM)
        return TransientError(text, status=_status_from(text), code="network",
                              platform=PLATFORM)
    # A bare TelegramError ("Invalid server response") or a KeyError/ValueError while reading
    # the result comes only from a 2xx answer: Telegram accepted something we cannot read.
    return UncertainError(f"unreadable answer from Telegram ({type(exc).__name__}: {text})",
                          code="bad_response", platform=PLATFORM)


def post_url(chat: str, message_id: int) -> str | None:
    """The public link of a channel post, or None when the chat has no link form."""
    if chat.startswith("@"):
        return f"https://t.me/{chat[1:]}/{message_id}"
    if chat.startswith("-100") and chat[4:].isdigit():
        return f"https://t.me/c/{chat[4:]}/{message_id}"
    return None


class TelegramAdapter(Adapter):
    """Posts to one Telegram channel as its bot (an administrator allowed to post)."""

    platform: ClassVar[str] = PLATFORM
    default_api_url: ClassVar[str] = "https://api.telegram.org"
    # min_interval: Bot API FAQ, "avoid sending more than one message per second" to a chat.
    limits: ClassVar[Limits] = Limits(max_length=4096, counting="utf16",
                                      caption_length=CAPTION_LIMIT, parse_mode="HTML",
                                      media=True, min_interval=1.0)

    channel: TelegramChannel

    @classmethod
    def measure(cls, text: str) -> int:
        """Telegram counts what readers see: the text after HTML entity parsing."""
        try:
            return utf16_len(parse_html(text)[0])
        except TelegramHTMLError:
            return utf16_len(text)

    @classmethod
    def problems(cls, text: str) -> list[str]:
        try:
            parse_html(text)
        except TelegramHTMLError as exc:
            return [f"Telegram would refuse the HTML: {exc.message}"]
        return super().problems(text)

    def __init__(self, channel: ChannelBase) -> None:
        if not isinstance(channel, TelegramChannel):
            raise TypeError(f"TelegramAdapter needs a TelegramChannel, got {type(channel)}")
        super().__init__(channel)
        self._bot: Bot | None = None
        self._requests: tuple[HTTPXRequest, ...] = ()
        self._token: str | None = None

    def _get_bot(self) -> Bot:
        """The one Bot of this adapter, built on first use (no getMe: see module docstring)."""
        if self._bot is None:
            try:
                token = self.secret("bot_token")
            except KeyError as exc:
                raise AuthError(f"no bot token: {exc.args[0] if exc.args else exc}",
                                platform=PLATFORM, code="no_token") from None
            seconds = self.channel.timeout.total_seconds()
            request = HTTPXRequest(connection_pool_size=8, read_timeout=seconds,
                                   write_timeout=seconds, connect_timeout=seconds,
                                   pool_timeout=seconds, media_write_timeout=seconds)
            # Owned here so close() can shut it: Bot.shutdown() skips un-initialised requests.
            updates = HTTPXRequest(connection_pool_size=1)
            self._token = token
            self._requests = (request, updates)
            self._bot = Bot(token, base_url=f"{self.api_url}/bot", request=request,
                            get_updates_request=updates)
        return self._bot

    def _chat_id(self) -> int | str:
        chat = self.channel.chat
        return int(chat) if re.fullmatch(r"-?\d+", chat) else chat

    def _caption_fits(self, text: str) -> bool:
        try:
            plain, _ = parse_html(text)
        except TelegramHTMLError:
            return False  # send_message lets Telegram report the markup error itself
        return utf16_len(plain) <= CAPTION_LIMIT

    def _preview(self, message: Message) -> LinkPreviewOptions | None:
        if not self.channel.link_preview:
            return LinkPreviewOptions(is_disabled=True)
        if message.link:
            return LinkPreviewOptions(url=message.link)
        return None

    async def publish(self, message: Message) -> Receipt:
        """Send ``message`` once: as a photo with caption when it has an image that fits.

        Raises:
            RateLimited, AuthError, PermanentError, TransientError, UncertainError.
        """
        bot = self._get_bot()
        as_photo = bool(message.image) and self._caption_fits(message.text)
        note = "photo" if as_photo else ""
        try:
            sent: TelegramMessage
            if as_photo and message.image:
                try:
                    sent = await bot.send_photo(
                        self._chat_id(), message.image, caption=message.text,
                        parse_mode=ParseMode.HTML,
                        disable_notification=self.channel.disable_notification)
                except BadRequest as exc:
                    # Telegram fetches the image itself; when it cannot (a 404, a page that
                    # is not an image) nothing was posted, so the text still goes, as a
                    # message with the article's link preview.
                    if not _PHOTO_REFUSED.search(exc.message):
                        raise
                    note = f"image refused by Telegram ({exc.message.lower()}); sent as text"
                    as_photo = False
            if not as_photo:
                sent = await bot.send_message(
                    self._chat_id(), message.text, parse_mode=ParseMode.HTML,
                    disable_notification=self.channel.disable_notification,
                    link_preview_options=self._preview(message))
            message_id = int(sent.message_id)
        except Exception as exc:  # classified, never swallowed
            error = classify_error(exc, token=self._token)
            log.debug("telegram delivery %s to %s failed: %s (%s)", message.delivery_id,
                      self.channel.chat, error, error.kind)
            raise error from None  # the cause may carry a URL with the token
        log.debug("telegram delivery %s to %s accepted as message %s", message.delivery_id,
                  self.channel.chat, message_id)
        return Receipt(remote_id=str(message_id), url=post_url(self.channel.chat, message_id),
                       note=note)

    async def verify(self) -> Account:
        """Check the token (getMe) and that the bot may post in the channel (getChatMember)."""
        bot = self._get_bot()
        try:
            me = await bot.get_me()
            member = await bot.get_chat_member(self._chat_id(), me.id)
        except Exception as exc:
            raise classify_error(exc, token=self._token) from None
        username = me.username or ""
        allowed = member.status == "creator" or (
            member.status == "administrator" and getattr(member, "can_post_messages", True)
            is not False)
        if not allowed:
            raise AuthError(
                f"the bot @{username} is not an administrator of {self.channel.chat} allowed "
                "to post messages (add it in the channel's Administrators with 'Post "
                "messages')", platform=PLATFORM)
        return Account(id=str(me.id), name=f"@{username}" if username else me.first_name,
                       url=f"https://t.me/{username}" if username else None)

    async def close(self) -> None:
        """Close the HTTP connections; a later call would build a fresh Bot."""
        requests, self._requests, self._bot = self._requests, (), None
        for request in requests:
            await request.shutdown()

    def describe(self) -> Mapping[str, str]:
        return {"platform": self.platform, "api_url": self.api_url, "chat": self.channel.chat}
