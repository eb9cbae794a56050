"""The contract's input events as the synthetic sources write them (pure).

One builder per topic, so the base traffic, the standard scenario and the live scenario all
spell an event the same way. The platform is the creator id's prefix (``tiktok:creator00004``).
"""

from __future__ import annotations

from typing import Any

from schemas.events import format_time_ms


def platform_of(creator_id: str) -> str:
    return creator_id.split(":")[0]


def comment(
    *,
    event_id: str,
    comment_id: str,
    post_id: str,
    creator_id: str,
    author_id: str,
    text: str,
    at_ms: int,
    community: str,
) -> dict[str, Any]:
    """A ``social.comments`` event created at ``at_ms``."""
    return {
        "event_id": event_id,
        "platform": platform_of(creator_id),
        "comment_id": comment_id,
        "post_id": post_id,
        "creator_id": creator_id,
        "author_id": author_id,
        "text": text,
        "created_at": format_time_ms(at_ms),
        "community": community,
    }


def audience(
    *, event_id: str, creator_id: str, followers: int, at_ms: int, community: str
) -> dict[str, Any]:
    """A ``social.audience`` snapshot observed at ``at_ms``."""
    return {
        "event_id": event_id,
        "platform": platform_of(creator_id),
        "creator_id": creator_id,
        "followers": followers,
        "observed_at": format_time_ms(at_ms),
        "community": community,
    }


def post_snapshot(
    *,
    event_id: str,
    post_id: str,
    creator_id: str,
    created_ms: int,
    at_ms: int,
    counts: tuple[int, int, int],
    text: str,
    community: str,
    followers: int | None = None,
) -> dict[str, Any]:
    """A ``social.posts`` snapshot observed at ``at_ms``; ``counts`` are likes, comments, shares."""
    likes, comments, shares = counts
    event: dict[str, Any] = {
        "event_id": event_id,
        "platform": platform_of(creator_id),
        "post_id": post_id,
        "creator_id": creator_id,
        "created_at": format_time_ms(created_ms),
        "observed_at": format_time_ms(at_ms),
        "likes": likes,
        "comments": comments,
        "shares": shares,
    }
    if followers is not None:
        event["followers"] = followers
    event["community"] = community
    event["text"] = text
    return event
