"""Durable state: all the daemon knows lives here, so a restart neither loses nor repeats work."""

from syndicator.store.store import NewDelivery, NewPost, PollRecord, Store, StoreError

__all__ = ["NewDelivery", "NewPost", "PollRecord", "Store", "StoreError"]
