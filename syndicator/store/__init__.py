"""Durable state: all the daemon knows lives here, so a restart neither loses nor repeats work."""

from syndicator.store.records import NewDelivery, NewPost, PollRecord
from syndicator.store.store import Store, StoreError

__all__ = ["NewDelivery", "NewPost", "PollRecord", "Store", "StoreError"]
