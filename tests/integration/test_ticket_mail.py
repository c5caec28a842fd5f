"""The ticket in the confirmation and promotion mails, through a real SMTP server on
loopback: the code as text in both parts, and as a QR code PNG inline in the HTML
part (multipart/related, `cid:`).

There is no QR decoder among the dependencies, so the test does the next best thing
it can do honestly: it decodes the PNG itself (zlib, the PNG filters) back into the
grid of QR modules and checks that the grid is exactly the symbol segno makes for
the code. That proves the mailed image holds that code's QR symbol; that a phone
reads the symbol back as the code is segno's encoder's job (and its test suite's).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import AsyncIterator

import pytest
import segno

from adapters.mail.composer import TICKET_CID
from adapters.mail.ticket_qr import BORDER, SCALE, ticket_qr_png
from application.ports.notifications import NotificationKind
from domain.registration import new_ticket_code
from tests.integration.test_mail import GRACE, a_notification, an_event_view, notifier_for, parts
from tests.mail_server import MailServer

Kind = NotificationKind


def png_pixels(png: bytes) -> list[list[int]]:
    """The pixels of a 1-bit greyscale or palette PNG (what segno writes), 1 = light."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "a PNG signature"
    position, header, data = 8, b"", b""
    while position < len(png):
        (length,) = struct.unpack(">I", png[position : position + 4])
        kind = png[position + 4 : position + 8]
        chunk = png[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", png[position + 8 + length : position + 12 + length])
        assert zlib.crc32(kind + chunk) == crc, f"the {kind!r} chunk's CRC"
        if kind == b"IHDR":
            header = chunk
        elif kind == b"IDAT":
            data += chunk
        position += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert (depth, colour in (0, 3), interlace) == (1, True, 0), (depth, colour, interlace)
    raw = zlib.decompress(data)
    stride = (width + 7) // 8
    rows: list[list[int]] = []
    previous = bytearray(stride)
    for y in range(height):
        line = raw[y * (stride + 1) : (y + 1) * (stride + 1)]
        method, scanline = line[0], bytearray(line[1:])
        for x in range(stride):
            left = scanline[x - 1] if x else 0
            up, corner = previous[x], previous[x - 1] if x else 0
            if method == 1:
                scanline[x] = (scanline[x] + left) & 0xFF
            elif method == 2:
                scanline[x] = (scanline[x] + up) & 0xFF
            elif method == 3:
                scanline[x] = (scanline[x] + (left + up) // 2) & 0xFF
            elif method == 4:
                guess = left + up - corner
                near = min((abs(guess - v), i) for i, v in enumerate((left, up, corner)))[1]
                scanline[x] = (scanline[x] + (left, up, corner)[near]) & 0xFF
            else:
                assert method == 0, f"filter type {method}"
        rows.append([(scanline[x // 8] >> (7 - x % 8)) & 1 for x in range(width)])
        previous = scanline
    return rows


def modules(png: bytes) -> list[list[bool]]:
    """The QR modules (True = dark) the image shows, sampled at each module's centre."""
    pixels = png_pixels(png)
    size = len(pixels) // SCALE - 2 * BORDER
    light = pixels[0][0]  # the quiet zone's corner
    return [
        [
            pixels[(BORDER + row) * SCALE + SCALE // 2][(BORDER + col) * SCALE + SCALE // 2]
            != light
            for col in range(size)
        ]
        for row in range(size)
    ]


def test_the_png_is_exactly_the_qr_symbol_of_the_code() -> None:
    code = new_ticket_code()
    expected = [[bool(m) for m in row] for row in segno.make_qr(code, error="m").matrix]

    assert modules(ticket_qr_png(code)) == expected
    other = [[bool(m) for m in row] for row in segno.make_qr(new_ticket_code()).matrix]
    assert modules(ticket_qr_png(code)) != other


@pytest.fixture
async def server() -> AsyncIterator[MailServer]:
    running = MailServer()
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


@pytest.mark.parametrize(
    "kind", [Kind.REGISTRATION_CONFIRMED, Kind.REGISTRATION_PROMOTED, Kind.REMINDER]
)
async def test_the_mail_carries_the_code_as_text_and_as_an_inline_qr_code(
    server: MailServer, kind: Kind
) -> None:
    code = new_ticket_code()
    notifier = notifier_for(server)

    await notifier.deliver(
        a_notification(kind, an_event_view(), ticket_code=code),
        recipient=GRACE,
        event=an_event_view(),
        message_id="<ticket.1@eventapi>",
    )
    await notifier.aclose()

    (mail,) = await server.wait_for(1)
    message = mail.message
    text, html, invite = parts(message)
    assert code in text and code in html
    assert f'src="cid:{TICKET_CID}"' in html
    assert invite is not None  # the calendar invite is still attached
    (related,) = [p for p in message.walk() if p.get_content_type() == "multipart/related"]
    html_part, image = related.iter_parts()
    assert html_part.get_content_type() == "text/html"
    assert image.get_content_type() == "image/png"
    assert image["Content-ID"] == f"<{TICKET_CID}>"
    assert image.get_content_disposition() == "inline"
    png = image.get_payload(decode=True)
    assert isinstance(png, bytes)
    expected = [[bool(m) for m in row] for row in segno.make_qr(code, error="m").matrix]
    assert modules(png) == expected


@pytest.mark.parametrize(
    "kind", [Kind.REGISTRATION_CONFIRMED, Kind.REGISTRATION_WAITLISTED, Kind.EVENT_CHANGED]
)
async def test_no_ticket_no_image(server: MailServer, kind: Kind) -> None:
    """Without a code (a seat given up before delivery) or for other kinds: no ticket."""
    details = {"ticket_code": new_ticket_code()} if kind is not Kind.REGISTRATION_CONFIRMED else {}
    if kind is Kind.EVENT_CHANGED:
        details |= {"time_changed": "true", "place_changed": "false"}
    notifier = notifier_for(server)

    await notifier.deliver(
        a_notification(kind, an_event_view(), **details),
        recipient=GRACE,
        event=an_event_view(),
        message_id="<ticket.2@eventapi>",
    )
    await notifier.aclose()

    (mail,) = await server.wait_for(1)
    text, html, _ = parts(mail.message)
    assert "Your ticket" not in text and "cid:" not in html
    assert not [p for p in mail.message.walk() if p.get_content_type() == "image/png"]
