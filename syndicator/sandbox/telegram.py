"""A local Telegram Bot API server for tests and the offline demo.

It speaks the real wire protocol for the methods the Telegram adapter calls (getMe,
sendMessage, sendPhoto), answers with the real success and error bodies and statuses, and
validates ``parse_mode=HTML`` with tdlib's rules, so the adapter and python-telegram-bot run
unchanged against it over a loopback socket. Faults are scripted as a queue consumed by the
next requests. The bot token is part of every URL, so nothing here logs URLs or tokens.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import json
import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from syndicator.adapters.telegram_html import (
    TelegramHTMLError,
    parse_html,
    to_bot_api_entities,
    utf16_len,
)
from syndicator.sandbox.server import LoopbackServer

__all__ = ["FakeChat", "FakeTelegramAPI", "SentMessage"]

log = logging.getLogger(__name__)

MAX_TEXT = 4096
MAX_CAPTION = 1024
_PHRASES = {
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    409: "Conflict", 429: "Too Many Requests", 500: "Internal Server Error",
    502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout",
}
_JSON_FIELDS = ("link_preview_options", "reply_parameters", "reply_markup", "entities",
                "caption_entities")
_ids = itertools.count(1)


@dataclass(frozen=True, slots=True)
class FakeChat:
    """A channel the fake knows; ``admin=False`` means the bot was never made an admin."""

    id: int
    username: str | None = None
    title: str = ""
    admin: bool = True

    def as_json(self) -> dict[str, Any]:
        chat: dict[str, Any] = {"id": self.id, "type": "channel",
                                "title": self.title or self.username or str(self.id)}
        if self.username:
            chat["username"] = self.username
        return chat


@dataclass(frozen=True, slots=True)
class SentMessage:
    """One message the fake accepted, as Telegram would hold it."""

    method: str
    chat: str  # chat_id exactly as the client sent it
    chat_id: int
    message_id: int
    text: str  # the text (or caption) as sent, markup included
    plain_text: str  # what readers see: after entity parsing
    parse_mode: str | None
    entities: list[dict[str, Any]] = field(default_factory=list)
    photo: str | None = None
    disable_notification: bool = False
    link_preview_options: dict[str, Any] | None = None
    date: int = 0


@dataclass(slots=True)
class _Fault:
    kind: str  # "fail", "delay" or "drop"
    method: str | None = None
    status: int = 500
    description: str = ""
    retry_after: int | None = None
    migrate_to_chat_id: int | None = None
    seconds: float = 0.0


class _Refused(Exception):
    """An error answer: the HTTP status and the Bot API description."""

    def __init__(self, status: int, description: str, **parameters: int) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


def _chat(spec: FakeChat | str | int | Mapping[str, Any]) -> FakeChat:
    if isinstance(spec, FakeChat):
        return spec
    if isinstance(spec, Mapping):
        return FakeChat(**spec)
    if isinstance(spec, int) or re.fullmatch(r"-?\d+", str(spec)):
        return FakeChat(id=int(spec))
    name = str(spec).lstrip("@")
    return FakeChat(id=-1001000000000 - next(_ids), username=name, title=name)


def _flag(value: Any) -> bool:
    return value is True or str(value).lower() in ("true", "1")


class FakeTelegramAPI(LoopbackServer):
    """A Bot API server on ``127.0.0.1:<free port>``; point ``api_url`` at ``api.url``.

    Use ``async with FakeTelegramAPI(...) as api`` inside an event loop, or
    ``start_in_thread()``/``stop()`` (or ``with``) from synchronous code.
    """

    def __init__(
        self,
        tokens: Iterable[str] = ("123456:TEST-token",),
        chats: Iterable[FakeChat | str | int | Mapping[str, Any]] = (),
        *,
        bot_username: str = "syndicator_test_bot",
        on_message: Callable[[SentMessage], None] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.tokens = set(tokens)
        self.chats = [_chat(c) for c in chats]
        self.bot_username = bot_username
        self.on_message = on_message
        self.clock = clock  # gives each message's "date"
        self.down = False  # when True every request gets 502 Bad Gateway
        self.host = host
        self.port = port
        self._lock = threading.Lock()
        self._faults: deque[_Fault] = deque()
        self._messages: list[SentMessage] = []
        self._requests: list[tuple[str, int]] = []
        self._next_id: dict[int, int] = {}

    # --- what happened ---------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The base URL to configure as the channel's ``api_url``."""
        return self.base_url

    @property
    def messages(self) -> list[SentMessage]:
        """Every accepted message, oldest first (a copy)."""
        with self._lock:
            return list(self._messages)

    @property
    def requests(self) -> list[tuple[str, int]]:
        """(method, HTTP status) of every request so far, 0 for a dropped connection.

        Tokens are not kept.
        """
        with self._lock:
            return list(self._requests)

    def messages_for(self, chat: str | int) -> list[SentMessage]:
        """Accepted messages of one chat, given as "@username" or numeric id."""
        found = self._find_chat(str(chat))
        return [m for m in self.messages if found is not None and m.chat_id == found.id]

    # --- scripted faults -------------------------------------------------------------------

    def fail_next(
        self,
        status: int,
        description: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
        *,
        method: str | None = None,
        migrate_to_chat_id: int | None = None,
    ) -> None:
        """Answer the next ``times`` requests (of ``method``, if given) with this error."""
        if description is None:
            phrase = _PHRASES.get(status, "Error")
            description = (f"{phrase}: retry after {retry_after}" if retry_after is not None
                           else phrase)
        fault = _Fault("fail", method, status, description, retry_after, migrate_to_chat_id)
        with self._lock:
            self._faults.extend(dataclasses.replace(fault) for _ in range(times))

    def delay_next(self, seconds: float, *, method: str | None = None) -> None:
        """Handle the next request normally (recording it) but answer ``seconds`` late."""
        with self._lock:
            self._faults.append(_Fault("delay", method, seconds=seconds))

    def drop_connection_next(self, *, method: str | None = None) -> None:
        """Read the next request, then close the connection without answering or recording."""
        with self._lock:
            self._faults.append(_Fault("drop", method))

    def set_down(self, down: bool = True) -> None:
        """Flip the outage switch: while down every request gets 502 Bad Gateway."""
        self.down = down

    def clear_faults(self) -> None:
        """Forget every scripted fault not yet consumed."""
        with self._lock:
            self._faults.clear()

    def _take_fault(self, method: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.method is None or fault.method.lower() == method.lower():
                    self._faults.remove(fault)
                    return fault
        return None

    def make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        return app

    # --- HTTP ------------------------------------------------------------------------------

    async def _not_found(self, request: web.Request) -> web.Response:
        return self._error(_Refused(404, "Not Found"), "?")

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        token = request.match_info["token"]
        params = await self._params(request)
        if self.down:
            return self._error(_Refused(502, "Bad Gateway"), method)
        fault = self._take_fault(method)
        if fault is not None and fault.kind == "fail":
            extra: dict[str, int] = {}
            if fault.retry_after is not None:
                extra["retry_after"] = fault.retry_after
            if fault.migrate_to_chat_id is not None:
                extra["migrate_to_chat_id"] = fault.migrate_to_chat_id
            return self._error(_Refused(fault.status, fault.description, **extra), method)
        if fault is not None and fault.kind == "drop":
            self._note(method, 0)
            if request.transport is not None:
                request.transport.close()
            raise asyncio.CancelledError  # aiohttp stops handling: no answer is written
        try:
            if token not in self.tokens:
                raise _Refused(401, "Unauthorized")
            result = self._dispatch(method, params, token)
        except _Refused as refused:
            answer = self._error(refused, method)
        else:
            answer = self._ok(result, method)
        if fault is not None and fault.kind == "delay" and self._closing is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), fault.seconds)
        return answer

    async def _params(self, request: web.Request) -> dict[str, Any]:
        """Query string plus body: JSON, form-urlencoded or multipart (as PTB sends)."""
        params: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            body = await request.read()
            if body:
                with contextlib.suppress(ValueError):
                    loaded = json.loads(body)
                    if isinstance(loaded, dict):
                        params.update(loaded)
        elif request.content_type in ("application/x-www-form-urlencoded",
                                      "multipart/form-data"):
            for key, value in (await request.post()).items():
                # an uploaded file is kept as "attach://<filename>", the Bot API's own notation
                params[key] = value if isinstance(value, str) else (
                    f"attach://{getattr(value, 'filename', None) or key}")
        else:
            await request.read()
        for key in _JSON_FIELDS:  # nested objects arrive as JSON strings inside forms
            if isinstance(params.get(key), str):
                with contextlib.suppress(ValueError):
                    params[key] = json.loads(params[key])
        return params

    def _note(self, method: str, status: int) -> None:
        with self._lock:
            self._requests.append((method, status))
        log.debug("fake Telegram %s -> %s", method, status or "dropped")

    def _ok(self, result: Any, method: str) -> web.Response:
        self._note(method, 200)
        return web.json_response({"ok": True, "result": result})

    def _error(self, refused: _Refused, method: str) -> web.Response:
        self._note(method, refused.status)
        body: dict[str, Any] = {"ok": False, "error_code": refused.status,
                                "description": refused.description}
        if refused.parameters:
            body["parameters"] = refused.parameters
        return web.json_response(body, status=refused.status)

    # --- Bot API methods -------------------------------------------------------------------

    def _dispatch(self, method: str, params: dict[str, Any], token: str) -> Any:
        name = method.lower()
        if name == "getme":
            return self._get_me(token)
        if name == "sendmessage":
            return self._send(method, params, "text", MAX_TEXT, "message is too long")
        if name == "sendphoto":
            return self._send(method, params, "caption", MAX_CAPTION,
                              "message caption is too long")
        if name == "getchatmember":
            return self._chat_member(params, token)
        raise _Refused(404, "Not Found: method not found")

    def _chat_member(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        """The bot's own membership in a channel: administrator with posting rights, or left
        (Telegram answers "chat not found" for a channel the bot cannot see at all)."""
        chat = self._find_chat(str(params.get("chat_id", "")))
        if chat is None:
            raise _Refused(400, "Bad Request: chat not found")
        user = self._get_me(token)
        if str(params.get("user_id")) != str(user["id"]):
            raise _Refused(400, "Bad Request: user not found")
        if not chat.admin:
            return {"status": "left", "user": user}
        return {"status": "administrator", "user": user, "can_be_edited": False,
                "is_anonymous": False, "can_manage_chat": True, "can_delete_messages": True,
                "can_manage_video_chats": False, "can_restrict_members": False,
                "can_promote_members": False, "can_change_info": False,
                "can_invite_users": True, "can_post_messages": True,
                "can_edit_messages": True, "can_post_stories": False,
                "can_edit_stories": False, "can_delete_stories": False}

    def _get_me(self, token: str) -> dict[str, Any]:
        prefix = token.split(":", 1)[0]  # a bot's id is the number before the colon
        return {"id": int(prefix) if prefix.isdigit() else 1, "is_bot": True,
                "first_name": "Syndicator Test Bot", "username": self.bot_username,
                "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False}

    def _find_chat(self, chat_id: str) -> FakeChat | None:
        chat_id = chat_id.strip()
        for chat in self.chats:
            if re.fullmatch(r"-?\d+", chat_id) and int(chat_id) == chat.id:
                return chat
            if (chat_id.startswith("@") and chat.username
                    and chat_id[1:].lower() == chat.username.lower()):
                return chat
        return None

    def _send(self, method: str, params: dict[str, Any], field_name: str, limit: int,
              too_long: str) -> dict[str, Any]:
        raw_chat = str(params.get("chat_id", "")).strip()
        if not raw_chat:
            raise _Refused(400, "Bad Request: chat_id is empty")
        chat = self._find_chat(raw_chat)
        if chat is None:
            raise _Refused(400, "Bad Request: chat not found")
        if not chat.admin:
            raise _Refused(403, "Forbidden: bot is not a member of the channel chat")
        photo = None
        if field_name == "caption":
            photo = params.get("photo")
            if not photo:
                raise _Refused(400, "Bad Request: there is no photo in the request")
            if not re.match(r"(https?|attach)://", str(photo)):
                raise _Refused(400, "Bad Request: wrong file identifier/HTTP URL specified")
        text = str(params.get(field_name) or "")
        if field_name == "text" and not text.strip():
            raise _Refused(400, "Bad Request: message text is empty")
        parse_mode = params.get("parse_mode") or None
        plain, entities = text, list(params.get(f"{'caption_' if photo else ''}entities") or [])
        if parse_mode is not None:
            if str(parse_mode).lower() != "html":
                raise _Refused(400, f"Bad Request: unsupported parse_mode {parse_mode}")
            try:
                plain, parsed = parse_html(text)
            except TelegramHTMLError as exc:
                raise _Refused(400, f"Bad Request: can't parse entities: {exc.message}") from None
            entities = to_bot_api_entities(parsed)
        if utf16_len(plain) > limit:
            raise _Refused(400, f"Bad Request: {too_long}")
        if field_name == "text" and not plain.strip():
            raise _Refused(400, "Bad Request: message text is empty")
        return self._accept(method, raw_chat, chat, text, plain, parse_mode, entities, photo,
                            params)

    def _accept(self, method: str, raw_chat: str, chat: FakeChat, text: str, plain: str,
                parse_mode: str | None, entities: list[dict[str, Any]], photo: str | None,
                params: dict[str, Any]) -> dict[str, Any]:
        now = int(self.clock())
        preview = params.get("link_preview_options")
        with self._lock:
            message_id = self._next_id.get(chat.id, 1)
            self._next_id[chat.id] = message_id + 1
            sent = SentMessage(
                method=method, chat=raw_chat, chat_id=chat.id, message_id=message_id,
                text=text, plain_text=plain, parse_mode=parse_mode, entities=entities,
                photo=photo, disable_notification=_flag(params.get("disable_notification")),
                link_preview_options=preview if isinstance(preview, dict) else None, date=now)
            self._messages.append(sent)
        if self.on_message is not None:
            try:
                self.on_message(sent)
            except Exception:
                log.exception("fake Telegram on_message callback failed")
        result: dict[str, Any] = {"message_id": message_id, "date": now,
                                  "chat": chat.as_json(), "sender_chat": chat.as_json()}
        if photo is not None:
            result["photo"] = [{"file_id": f"photo-{chat.id}-{message_id}-{size}",
                                "file_unique_id": f"u{message_id}{size}", "width": size,
                                "height": size * 3 // 4} for size in (90, 320, 800)]
            if plain:
                result["caption"] = plain
                if entities:
                    result["caption_entities"] = entities
        else:
            result["text"] = plain
            if entities:
                result["entities"] = entities
        return result
