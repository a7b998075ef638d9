"""The YAML file, validated into typed settings; every problem reported at once, with its path."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time, timedelta
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from syndicator.durations import parse_duration
from syndicator.secrets import env_reference, redact

DEFAULT_STORAGE = "sqlite:///syndicator.db"
CONFIG_ENV = "SYNDICATOR_CONFIG"


def _url(value: str) -> str:
    parts = urlsplit(str(value))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("not a URL (expected http:// or https://...)")
    return str(value)


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {value!r} (use an IANA name like Asia/Tehran)") from None
    return value


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
Url = Annotated[str, AfterValidator(_url)]
Ident = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
TimeZone = Annotated[str, AfterValidator(_zone)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class Secret:
    """A value read from an environment variable; never printed, never stored."""

    __slots__ = ("env", "_value")

    def __init__(self, env: str, value: str | None) -> None:
        self.env = env
        self._value = value

    @property
    def present(self) -> bool:
        return bool(self._value)

    def get(self) -> str:
        if not self._value:
            raise KeyError(f"env var {self.env} is not set")
        return self._value

    def __repr__(self) -> str:
        return f"Secret(${{{self.env}}})"


def _secret(value: Any, info: ValidationInfo) -> Secret:
    if isinstance(value, Secret):
        return value
    name = env_reference(str(value)) if isinstance(value, str) else None
    if name is None:
        raise ValueError(
            "secrets may only be given as an env var reference like ${TELEGRAM_BOT_TOKEN}; "
            "remove the literal value from the file"
        )
    context = info.context or {}
    environ: Mapping[str, str] = context.get("environ", os.environ)
    found = environ.get(name)
    if not found and context.get("require_secrets", True):
        raise ValueError(f"env var {name} is not set (export it before starting syndicator)")
    if found:
        redact.add(found)
    return Secret(name, found or None)


SecretRef = Annotated[Secret, BeforeValidator(_secret)]


class FeedSettings(_Model):
    """One feed (usually one edition of the site)."""

    id: Ident
    url: Url
    name: str | None = None
    language: str | None = None
    poll_interval: Duration = timedelta(minutes=5)
    backfill: Annotated[int, Field(ge=0, le=1000)] = 0
    max_age: Duration = timedelta(days=7)
    dedup: list[Literal["guid", "link", "title"]] = ["guid", "link"]
    timeout: Duration = timedelta(seconds=30)
    max_bytes: Annotated[int, Field(ge=1024)] = 10 * 1024 * 1024

    @field_validator("poll_interval")
    @classmethod
    def _min_interval(cls, v: timedelta) -> timedelta:
        if v < timedelta(seconds=1):
            raise ValueError("must be at least 1s")
        return v


class QuietHours(_Model):
    start: time
    end: time

    def contains(self, moment: time) -> bool:
        if self.start <= self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end


def _quiet(value: Any) -> Any:
    if isinstance(value, str):
        match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", value)
        if not match:
            raise ValueError('expected "HH:MM-HH:MM", e.g. "23:00-07:00"')
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
            raise ValueError("hours go 00-23 and minutes 00-59")
        return {"start": time(h1, m1), "end": time(h2, m2)}
    return value


class Schedule(_Model):
    """When a channel may post; default: as soon as possible."""

    delay: Duration = timedelta(0)
    min_spacing: Duration = timedelta(0)
    max_per_day: Annotated[int, Field(ge=1)] | None = None
    quiet_hours: Annotated[QuietHours, BeforeValidator(_quiet)] | None = None
    timezone: TimeZone = "UTC"


class Filters(_Model):
    """Which posts of the routed feeds a channel takes (case-insensitive)."""

    categories: list[str] = []
    exclude_categories: list[str] = []
    keywords: list[str] = []
    exclude_keywords: list[str] = []
    languages: list[str] = []


class RetryPolicy(_Model):
    """Exponential backoff with jitter; a platform's retry-after always wins when longer."""

    max_attempts: Annotated[int, Field(ge=1, le=100)] = 8
    base_delay: Duration = timedelta(seconds=30)
    max_delay: Duration = timedelta(hours=1)


class Budget(_Model):
    """A monthly spending cap for platforms that bill per post (X)."""

    per_month: Annotated[float, Field(gt=0)]
    price_per_post: Annotated[float, Field(ge=0)] = 0.015
    price_per_post_with_link: Annotated[float, Field(ge=0)] = 0.20


class Hashtags(_Model):
    """Hashtags made from a post's categories (letters of any script kept)."""

    max: Annotated[int, Field(ge=0, le=30)] = 3
    map: dict[str, str] = {}
    stop: list[str] = []


def _env_name(channel_id: str, key: str) -> str:
    return f"{channel_id.upper().replace('-', '_').replace('.', '_')}_{key.upper()}"


class ChannelBase(_Model):
    id: Ident
    platform: str
    feeds: list[Ident] = Field(min_length=1)
    enabled: bool = True
    template: str | None = None
    api_url: Url | None = None
    credentials: dict[str, SecretRef] = {}
    filters: Filters = Filters()
    schedule: Schedule = Schedule()
    retry: RetryPolicy | None = None
    on_uncertain: Literal["hold", "retry"] = "hold"
    timeout: Duration = timedelta(seconds=20)
    budget: Budget | None = None
    approval: Literal["none", "required"] = "none"
    auto_approve_after: Duration | None = None
    utm: dict[Annotated[str, Field(pattern=r"^(utm_)?(source|medium|campaign|term|content|id)$")],
              str] = {}
    hashtags: Hashtags = Hashtags()

    required_credentials: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="after")
    def _check_credentials(self) -> ChannelBase:
        missing = [k for k in self.required_credentials if k not in self.credentials]
        if missing:
            raise ValueError(
                f"credentials.{missing[0]}: required for platform {self.platform} "
                f"(e.g. {missing[0]}: ${{{_env_name(self.id, missing[0])}}})"
            )
        return self


class TelegramChannel(ChannelBase):
    platform: Literal["telegram"]
    chat: Annotated[str, BeforeValidator(lambda v: str(v) if isinstance(v, int) else v)]
    disable_notification: bool = False
    link_preview: bool = True
    required_credentials: ClassVar[tuple[str, ...]] = ("bot_token",)

    @field_validator("chat")
    @classmethod
    def _chat(cls, v: str) -> str:
        if not re.fullmatch(r"@[A-Za-z][A-Za-z0-9_]{3,}|-?\d+", v):
            raise ValueError('expected a channel username like "@example_news" or a numeric id')
        return v


class TwitterChannel(ChannelBase):
    platform: Literal["twitter"]

    @model_validator(mode="after")
    def _auth(self) -> TwitterChannel:
        oauth1 = ("consumer_key", "consumer_secret", "access_token", "access_token_secret")
        have = set(self.credentials)
        if "bearer_token" not in have and not set(oauth1) <= have:
            missing = [k for k in oauth1 if k not in have]
            raise ValueError(
                f"credentials.{missing[0]}: required (give consumer_key, consumer_secret, "
                "access_token and access_token_secret, or an OAuth 2.0 user token as bearer_token)"
            )
        return self


class FacebookChannel(ChannelBase):
    platform: Literal["facebook"]
    page_id: Annotated[str, BeforeValidator(lambda v: str(v) if isinstance(v, int) else v),
                       Field(pattern=r"^\d+$")]
    graph_version: Annotated[str, Field(pattern=r"^v?\d{1,2}\.\d$")] = "v25.0"
    required_credentials: ClassVar[tuple[str, ...]] = ("page_token",)


class WhatsAppChannel(ChannelBase):
    platform: Literal["whatsapp"]
    phone: Annotated[str, Field(pattern=r"^\d{6,15}$")] | None = None
    share_dir: str = "./share"


Channel = Annotated[
    TelegramChannel | TwitterChannel | FacebookChannel | WhatsAppChannel,
    Field(discriminator="platform"),
]


class LogSettings(_Model):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["text", "json"] = "text"


class DashboardSettings(_Model):
    """The editors' dashboard, served by the daemon (and by `syndicator web`)."""

    listen: Annotated[str, Field(pattern=r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]*):\d{1,5}$")] = (
        "127.0.0.1:8080")
    secret_key: SecretRef | None = None
    session_ttl: Duration = timedelta(hours=12)


class UserSettings(_Model):
    """One dashboard account; `syndicator user add NAME` prints the entry."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")]
    role: Literal["editor", "admin"] = "editor"
    password_hash: Annotated[str, Field(
        pattern=r"^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9+/]+={0,2}\$[A-Za-z0-9+/]+={0,2}$")]


class Settings(_Model):
    """Everything the daemon needs, from one YAML file."""

    version: Literal[1] = 1
    storage: str = DEFAULT_STORAGE
    feeds: list[FeedSettings] = Field(min_length=1)
    channels: list[Channel] = []
    retry: RetryPolicy = RetryPolicy()
    log: LogSettings = LogSettings()
    dashboard: DashboardSettings | None = None
    users: list[UserSettings] = []

    @model_validator(mode="after")
    def _cross_check(self) -> Settings:
        problems = []
        for kind, items in (("feeds", self.feeds), ("channels", self.channels)):
            seen: set[str] = set()
            for i, item in enumerate(items):
                if item.id in seen:
                    problems.append(f"{kind}[{i}].id: duplicate id {item.id!r}")
                seen.add(item.id)
        names: set[str] = set()
        for i, user in enumerate(self.users):
            if user.name in names:
                problems.append(f"users[{i}].name: duplicate user {user.name!r}")
            names.add(user.name)
        feed_ids = {f.id for f in self.feeds}
        for i, ch in enumerate(self.channels):
            for j, feed in enumerate(ch.feeds):
                if feed not in feed_ids:
                    problems.append(
                        f"channels[{i}].feeds[{j}]: no feed with id {feed!r} "
                        f"(known: {', '.join(sorted(feed_ids))})"
                    )
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def feed(self, feed_id: str) -> FeedSettings:
        return next(f for f in self.feeds if f.id == feed_id)

    def channel(self, channel_id: str) -> ChannelBase:
        return next(c for c in self.channels if c.id == channel_id)

    def retry_for(self, channel: ChannelBase) -> RetryPolicy:
        return channel.retry or self.retry


@dataclass(frozen=True)
class LoadedConfig:
    settings: Settings
    path: Path

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    @property
    def storage_url(self) -> str:
        """The storage URL with a relative SQLite path resolved against the config's folder."""
        url = self.settings.storage
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith("sqlite:////"):
            rest = url[len(prefix) :]
            if rest and rest != ":memory:" and not Path(rest).is_absolute():
                return prefix + str((self.base_dir / rest).resolve())
        return url


class ConfigError(Exception):
    """The config cannot be used; ``problems`` holds one line per problem, with its key path."""

    def __init__(self, source: str, problems: list[str]) -> None:
        super().__init__(f"{source}: " + "; ".join(problems))
        self.source = source
        self.problems = problems


def resolve_path(explicit: str | os.PathLike[str] | None, environ: Mapping[str, str]) -> Path:
    """``--config``, else ``$SYNDICATOR_CONFIG``, else ``./config.yaml``."""
    if explicit:
        return Path(explicit)
    if environ.get(CONFIG_ENV):
        return Path(environ[CONFIG_ENV])
    return Path("config.yaml")


def _path(loc: tuple[int | str, ...], data: Any) -> str:
    out = ""
    node = data
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            node = node[part] if isinstance(node, list) and part < len(node) else None
            continue
        if isinstance(node, dict) and part not in node and part in ("telegram", "twitter",
                                                                    "facebook", "whatsapp"):
            continue  # the discriminator tag pydantic inserts; not a key the admin wrote
        out += f".{part}" if out else str(part)
        node = node.get(part) if isinstance(node, dict) else None
    return out


def _allowed_keys(model: type[BaseModel] | None) -> str:
    if model is None:
        return ""
    keys = [k for k, f in model.model_fields.items() if not f.exclude]
    return f" (allowed: {', '.join(keys)})"


def _model_at(loc: tuple[int | str, ...], data: Any) -> type[BaseModel] | None:
    """The settings model a (parent) location belongs to, for 'unknown key' hints."""
    model: Any = Settings
    node = data
    for part in loc:
        if isinstance(part, int):
            node = node[part] if isinstance(node, list) and part < len(node) else None
            if model is ChannelBase and isinstance(node, dict):
                model = PLATFORM_MODELS.get(str(node.get("platform")), ChannelBase)
            continue
        if part in PLATFORM_MODELS and not (isinstance(node, dict) and part in node):
            model = PLATFORM_MODELS[part]
            continue
        field = (model.model_fields.get(part)
                 if isinstance(model, type) and issubclass(model, BaseModel) else None)
        if field is None:
            return None
        model = _inner_model(field.annotation)
        node = node.get(part) if isinstance(node, dict) else None
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _inner_model(annotation: Any) -> Any:
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _inner_model(arg)
        if found is not None:
            return found
    if annotation in PLATFORM_MODELS.values():
        return ChannelBase
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


PLATFORM_MODELS: dict[str, type[ChannelBase]] = {
    "telegram": TelegramChannel,
    "twitter": TwitterChannel,
    "facebook": FacebookChannel,
    "whatsapp": WhatsAppChannel,
}


_PATTERN_HINTS = {
    "listen": 'HOST:PORT, e.g. "127.0.0.1:8080"',
    "name": "letters, digits, '.', '_', '-' or '@', at most 64",
    "password_hash": "scrypt$n$r$p$salt$hash: make it with `syndicator user add NAME`",
    "utm": "UTM keys are source, medium, campaign, term, content or id",
    "page_id": "digits only: the numeric Page id (Page settings, About)",
    "phone": "digits only: the full international number without +, spaces or a leading 0",
    "graph_version": 'a Graph API version like "v25.0"',
}


def _describe(error: Any, data: Any) -> str:
    loc = tuple(error["loc"])
    kind = error["type"]
    path = _path(loc, data)
    if kind == "extra_forbidden":
        return f"{path}: unknown key{_allowed_keys(_model_at(loc[:-1], data))}"
    if kind == "missing":
        return f"{path}: required"
    if kind == "union_tag_invalid":
        return f"{path}.platform: unknown platform (known: {', '.join(PLATFORM_MODELS)})"
    if kind == "union_tag_not_found":
        return f"{path}.platform: required (one of {', '.join(PLATFORM_MODELS)})"
    message = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    if kind == "string_pattern_mismatch":
        field = next((p for p in reversed(loc) if isinstance(p, str)), "")
        message = _PATTERN_HINTS.get(
            field, "use letters, digits, '-', '_' or '.', starting with a letter or digit")
    if "\n" in message and kind == "value_error" and not path:
        return message
    if path and re.match(r"^[a-z_.]+: ", message):
        return f"{path}.{message}"
    return f"{path}: {message}" if path else message


def parse_settings(
    data: Any,
    *,
    source: str = "config",
    environ: Mapping[str, str] | None = None,
    require_secrets: bool = True,
) -> Settings:
    """Validate already-parsed YAML; raise ConfigError listing every problem."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(source, ["the file must be a mapping with feeds: and channels:"])
    context = {"environ": os.environ if environ is None else environ,
               "require_secrets": require_secrets}
    try:
        return Settings.model_validate(data, context=context)
    except ValidationError as exc:
        problems: list[str] = []
        for error in exc.errors(include_url=False):
            for line in _describe(error, data).splitlines():
                if line not in problems:
                    problems.append(redact(line))
        raise ConfigError(source, problems) from None


def load_config(
    path: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    require_secrets: bool = True,
) -> LoadedConfig:
    """Read and validate the config (``--config``, ``$SYNDICATOR_CONFIG``, ./config.yaml)."""
    env = os.environ if environ is None else environ
    file = resolve_path(path, env)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(str(file), [
            "file not found (pass --config PATH, set $SYNDICATOR_CONFIG, "
            "or copy the example config.yaml here)"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(file), [f"cannot read: {exc}"]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(str(file), [f"{where}malformed YAML: {problem}"]) from None
    settings = parse_settings(data, source=str(file), environ=env,
                              require_secrets=require_secrets)
    return LoadedConfig(settings=_resolve_paths(settings, file.resolve().parent),
                        path=file.resolve())


def _resolve_paths(settings: Settings, base: Path) -> Settings:
    """Folders named in the file are relative to the file, not to the working directory."""
    channels = []
    for channel in settings.channels:
        folder = getattr(channel, "share_dir", None)
        if isinstance(folder, str) and not Path(folder).expanduser().is_absolute():
            channel = channel.model_copy(update={"share_dir": str(base / folder)})
        channels.append(channel)
    return settings.model_copy(update={"channels": channels})
