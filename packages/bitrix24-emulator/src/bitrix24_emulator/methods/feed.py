"""The news feed: ``log.blogpost.get``/``add``/``update``/``delete`` (bitrix24.md §4)."""

from __future__ import annotations

from typing import Any

from bitrix24_emulator import fields as F
from bitrix24_emulator.errors import ApiError, not_found
from bitrix24_emulator.methods import Call, Listed, method

#: ``log.blogpost.get`` returns at most this many posts in cursor mode.
MAX_LIMIT = 200
#: Posts per cursor page when ``LIMIT`` is absent or not a positive number: the page says
#: only "the default value" (log-blogpost-get.md); 50, the size of every other page, is
#: this emulator's guess.
DEFAULT_LIMIT = 50


def _user_field(
    field_id: str, name: str, user_type: str, label: str, value: Any, post_id: int
) -> dict[str, Any]:
    """A post's user field as ``log.blogpost.get`` answers it: the field's whole descriptor
    with ``VALUE`` (log-blogpost-get.md)."""
    return {
        "ID": field_id,
        "ENTITY_ID": "BLOG_POST",
        "FIELD_NAME": name,
        "USER_TYPE_ID": user_type,
        "XML_ID": name,
        "SORT": "100",
        "MULTIPLE": "N",
        "MANDATORY": "N",
        "SHOW_FILTER": "N",
        "SHOW_IN_LIST": "Y",
        "EDIT_IN_LIST": "Y",
        "IS_SEARCHABLE": "N",
        "EDIT_FORM_LABEL": label,
        "LIST_COLUMN_LABEL": label,
        "LIST_FILTER_LABEL": None,
        "ERROR_MESSAGE": None,
        "HELP_MESSAGE": None,
        "VALUE": value,
        "ENTITY_VALUE_ID": post_id,
        "VALUE_EXISTS": True,
        "VALUE_RAW": value,
        "CUSTOM_DATA": [],
    }


def _importance(post: dict[str, Any], important: bool, date_end: str) -> None:
    # IMPORTANT=Y fills UF_BLOG_POST_IMPRTNT (an integer field: 1), IMPORTANT_DATE_END fills
    # UF_IMPRTANT_DATE_END (sic), log-blogpost-add.md; unimportant posts carry null.
    post_id = int(post["ID"])
    post["UF_BLOG_POST_IMPRTNT"] = _user_field(
        "83", "UF_BLOG_POST_IMPRTNT", "integer", "Important", "1" if important else None, post_id
    )
    post["UF_IMPRTANT_DATE_END"] = _user_field(
        "85", "UF_IMPRTANT_DATE_END", "datetime", "Expiration", date_end or "", post_id
    )


def add_post(
    call: Call,
    title: str,
    text: str,
    dest: list[str],
    author: int,
    *,
    important: bool = False,
    important_until: str = "",
) -> dict[str, Any]:
    """Publish a post to ``dest`` (``SG12``, ``UA``…); fires ``ONLIVEFEEDPOSTADD``."""
    post_id = call.portal.next_id("post", start=200)
    post = {
        "ID": str(post_id),
        "BLOG_ID": "1",
        "PUBLISH_STATUS": "P",
        "TITLE": title,
        "AUTHOR_ID": str(author),
        "ENABLE_COMMENTS": "Y",
        "NUM_COMMENTS": "0",
        "CODE": None,
        "MICRO": "N" if title else "Y",
        "DETAIL_TEXT": text,
        "DATE_PUBLISH": call.portal.iso(call.now),
        "CATEGORY_ID": "",
        "HAS_SOCNET_ALL": "Y" if "UA" in dest else "N",
        "HAS_TAGS": "N",
        "HAS_IMAGES": "N",
        "HAS_PROPS": "N",
        "HAS_COMMENT_IMAGES": None,
        "FILES": [],
        "_rights": list(dest),
    }
    _importance(post, important, important_until)
    call.portal.posts[post_id] = post
    call.fire("ONLIVEFEEDPOSTADD", {"FIELDS": {"POST_ID": post_id}})
    return post


def _public(post: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in post.items() if not k.startswith("_")}


@method("log.blogpost.add", write=True)
def blogpost_add(call: Call) -> Any:
    """The new post's id."""
    message = call.get("POST_MESSAGE")
    if not message:
        raise ApiError("ERROR_ARGUMENT", "Argument 'POST_MESSAGE' is null or empty")
    dest = call.get("DEST") or ["UA"]
    dest = dest if isinstance(dest, list) else [dest]
    author = int(call.get("USER_ID") or call.auth.user_id)
    post = add_post(
        call,
        call.get("POST_TITLE") or "",
        str(message),
        dest,
        author,
        important=_flag(call.get("IMPORTANT")),
        important_until=str(call.get("IMPORTANT_DATE_END") or ""),
    )
    return int(post["ID"])


def _flag(value: Any) -> bool:
    return str(value).upper() in ("Y", "1", "TRUE")


@method("log.blogpost.update", write=True)
def blogpost_update(call: Call) -> Any:
    """The post's id after the change."""
    post = call.portal.posts.get(call.integer("POST_ID") or 0)
    if post is None:
        raise not_found("Post not found")
    if call.get("POST_TITLE") is not None:
        post["TITLE"] = call.get("POST_TITLE")
    if call.get("POST_MESSAGE") is not None:
        post["DETAIL_TEXT"] = call.get("POST_MESSAGE")
    if call.get("IMPORTANT") is not None:
        until = call.get("IMPORTANT_DATE_END")
        current = post["UF_IMPRTANT_DATE_END"]["VALUE"]
        _importance(post, _flag(call.get("IMPORTANT")), str(until or current or ""))
    call.fire("ONLIVEFEEDPOSTUPDATE", {"FIELDS": {"POST_ID": int(post["ID"])}})
    return int(post["ID"])


@method("log.blogpost.delete", write=True)
def blogpost_delete(call: Call) -> Any:
    """``true``."""
    post_id = call.integer("POST_ID") or 0
    if call.portal.posts.pop(post_id, None) is None:
        raise not_found("Post not found")
    call.fire("ONLIVEFEEDPOSTDELETE", {"FIELDS": {"POST_ID": post_id}})
    return True


@method("log.blogpost.get")
def blogpost_get(call: Call) -> Any:
    """Posts by ``POST_ID`` or ``LOG_RIGHTS``, newest first. Cursor mode (``FIRST_ID`` newer
    than, else ``LAST_ID`` older than) takes ``LIMIT`` (≤ 200); without a cursor the pages
    are 50 by ``start``, whatever ``LIMIT`` says, with ``total`` and ``next``
    (log-blogpost-get.md)."""
    posts = sorted(call.portal.posts.values(), key=lambda p: int(p["ID"]), reverse=True)
    if call.get("POST_ID"):
        posts = [p for p in posts if p["ID"] == str(call.get("POST_ID"))]
    elif call.get("LOG_RIGHTS"):
        rights = call.get("LOG_RIGHTS")
        rights = set(rights if isinstance(rights, list) else [rights])
        posts = [p for p in posts if rights & set(p["_rights"])]
    if call.get("LOG_DATE_FROM"):
        posts = [p for p in posts if p["DATE_PUBLISH"] >= str(call.get("LOG_DATE_FROM"))]
    if call.get("LOG_DATE_TO"):
        posts = [p for p in posts if p["DATE_PUBLISH"] <= str(call.get("LOG_DATE_TO"))]
    first, last = call.get("FIRST_ID"), call.get("LAST_ID")
    if first not in (None, "") or last not in (None, ""):
        if first not in (None, ""):  # both given: FIRST_ID applies
            posts = [p for p in posts if int(p["ID"]) > int(first)]
        else:
            posts = [p for p in posts if int(p["ID"]) < int(last)]
        try:
            limit = int(call.get("LIMIT") or 0)
        except (TypeError, ValueError):
            limit = 0
        limit = min(limit if limit > 0 else DEFAULT_LIMIT, MAX_LIMIT)
        return Listed([_public(p) for p in posts[:limit]], len(posts))
    chunk, total, following = F.page(posts, F.start_of(call.params))
    return Listed([_public(p) for p in chunk], total, following)


@method("sonet_group.get")
def group_get(call: Call) -> Any:
    """Workgroups (``FILTER``, ``GROUP_ID``)."""
    groups = list(call.portal.groups.values())
    if call.get("GROUP_ID"):
        groups = [g for g in groups if g["ID"] == str(call.get("GROUP_ID"))]
    test = F.matcher(call.get("FILTER") or {}, lambda name: True)
    rows = [_public(g) for g in groups if test(g)]
    return Listed(rows, len(rows))


@method("sonet_group.user.get")
def group_users(call: Call) -> Any:
    """Members of a group with their roles (A owner, E moderator, K member); no ``total``."""
    group = call.portal.groups.get(call.integer("ID") or 0)
    if group is None:
        raise ApiError("ERROR_GROUP_NOT_FOUND", "Socialnetwork group not found")
    return list(group["_members"])
