"""docs/plugins/crm-backends.md documents every outbox topic and nothing else: one ``### topic``
section per :class:`~cabinet_core.sync.Topic`, each with an example that decodes to the topic's
payload type (the page is what a backend author codes against)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from cabinet_core.entities import OutboxMessage
from cabinet_core.sync import PAYLOAD_TYPES, Topic, decode_payload

CRM_BACKENDS_MD = Path(__file__).resolve().parents[3] / "docs" / "plugins" / "crm-backends.md"
SECTION = re.compile(r"^###\s+(?P<title>.+?)\s*$")


def sections(text: str | None = None) -> dict[str, str]:
    """Every ``### title`` heading of the page's Topics part (outside code blocks), with the
    text up to the next heading."""
    if text is None:
        text = CRM_BACKENDS_MD.read_text(encoding="utf-8")
    text = text.split("\n## Topics\n", 1)[1] if "\n## Topics\n" in text else ""
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    in_code = False
    for line in text.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        match = None if in_code else SECTION.match(line)
        if match:
            title = match["title"]
            assert title not in found, f"{title} is documented twice"
            current = found[title] = []
        elif not in_code and line.startswith("## "):
            current = None
        elif current is not None:
            current.append(line)
    return {title: "\n".join(lines) for title, lines in found.items()}


def example(body: str) -> object:
    """The section's ```json example, parsed."""
    match = re.search(r"```json\n(?P<json>.*?)\n```", body, re.DOTALL)
    assert match is not None, "the section has no ```json example"
    return json.loads(match["json"])


def test_sections_are_read_from_the_topics_part_only() -> None:
    text = "\n".join(
        [
            "## The contract",
            "### Per-subscriber delivery",
            "## Topics",
            "### news.deleted",
            "```json",
            "### not.a_heading",
            "```",
            "### chat.message_posted",
            "body",
        ]
    )
    assert set(sections(text)) == {"news.deleted", "chat.message_posted"}
    assert sections(text)["chat.message_posted"] == "body"


def test_every_topic_has_a_section() -> None:
    missing = {topic.value for topic in Topic} - set(sections())
    assert not missing, f"{CRM_BACKENDS_MD.name} has no '### topic' section for {sorted(missing)}"


def test_every_section_names_a_topic() -> None:
    unknown = set(sections()) - {topic.value for topic in Topic}
    assert not unknown, f"{CRM_BACKENDS_MD.name} documents topics that do not exist: {unknown}"


@pytest.mark.parametrize("topic", list(Topic), ids=lambda topic: topic.value)
def test_every_example_decodes_to_the_topic_payload(topic: Topic) -> None:
    body = sections()[topic.value]
    payload_type = PAYLOAD_TYPES[topic]
    assert f"`{payload_type.__module__}.{payload_type.__name__}`" in body
    payload = example(body)
    assert isinstance(payload, dict)
    message = OutboxMessage(topic=topic.value, entity="x", entity_id=1, payload=payload)
    assert isinstance(decode_payload(message), payload_type)
