"""docs/notifications.md names every notification kind and every webhook type, each
with its example (issue 14: "every new notification kind and webhook type appears in
docs/notifications.md")."""

from __future__ import annotations

from pathlib import Path

import pytest

from application.ports.notifications import NotificationKind
from domain.webhooks import WEBHOOK_TYPES

DOC = (Path(__file__).resolve().parents[2] / "docs" / "notifications.md").read_text()


@pytest.mark.parametrize("kind", [kind.value for kind in NotificationKind])
def test_every_notification_kind_is_documented(kind: str) -> None:
    assert f"`{kind}`" in DOC


@pytest.mark.parametrize("webhook_type", WEBHOOK_TYPES)
def test_every_webhook_type_is_documented(webhook_type: str) -> None:
    assert f"| `{webhook_type}` |" in DOC
