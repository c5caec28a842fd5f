"""Webhook delivery over the network (the `WebhookSender` port)."""

from adapters.webhooks.http_sender import HttpWebhookSender

__all__ = ["HttpWebhookSender"]
