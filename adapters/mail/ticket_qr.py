"""A ticket code as a QR code image (segno: pure Python, PNG without Pillow)."""

from __future__ import annotations

import io

import segno

#: Pixels per QR module, and the quiet zone in modules (the standard asks for 4).
SCALE = 8
BORDER = 4


def ticket_qr_png(code: str) -> bytes:
    """A PNG of the QR code holding exactly `code` (error correction M, which segno
    may raise when the symbol has room: it never lowers it)."""
    symbol = segno.make_qr(code, error="m")
    buffer = io.BytesIO()
    symbol.save(buffer, kind="png", scale=SCALE, border=BORDER)
    return buffer.getvalue()
