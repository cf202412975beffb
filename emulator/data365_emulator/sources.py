"""The Data365 sub-sources the emulator serves and the names of their search indexes.

Kept apart from the tap's own list on purpose: the emulator stands for the real API, so it
must not learn what a source is from the code it is testing.
"""

from __future__ import annotations

#: The sub-sources the Datastreamer connector documents (seed page, section 3).
SOURCES: tuple[str, ...] = (
    "facebook_hashtag",
    "facebook_keywords_latest",
    "facebook_keywords_top",
    "facebook_profile",
    "instagram_hashtag",
    "instagram_location",
    "instagram_profile",
    "linkedin_company",
    "linkedin_keywords",
    "linkedin_member",
    "tiktok_hashtag",
    "tiktok_keywords",
    "tiktok_music",
    "tiktok_profile",
    "twitter_keywords",
    "twitter_profile",
)

#: A source's search index is this prefix and the source's name (``data365_twitter_keywords``).
INDEX_PREFIX = "data365_"
