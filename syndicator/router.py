"""Which channels take a post: the feeds they follow and their filters."""

from __future__ import annotations

from collections.abc import Iterable

from syndicator.config import Filters
from syndicator.model import Post


def _norm(values: Iterable[str]) -> set[str]:
    return {v.strip().casefold() for v in values if v.strip()}


def matches(filters: Filters, post: Post) -> tuple[bool, str]:
    """Whether a post passes a channel's filters, and if not, why (for logs)."""
    categories = _norm(post.categories)
    if filters.categories and not categories & _norm(filters.categories):
        return False, "no wanted category"
    if categories & _norm(filters.exclude_categories):
        return False, "excluded category"
    language = (post.language or "").casefold().split("-")[0]
    if filters.languages and language not in {v.split("-")[0] for v in _norm(filters.languages)}:
        return False, f"language {post.language or 'unknown'} not wanted"
    text = f"{post.title}\n{post.summary}".casefold()
    if filters.keywords and not any(k in text for k in _norm(filters.keywords)):
        return False, "no wanted keyword"
    if any(k in text for k in _norm(filters.exclude_keywords)):
        return False, "excluded keyword"
    return True, ""
