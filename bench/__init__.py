"""eventapi against a lean ceiling, side by side in one run (`python -m bench`).

Outside the hexagon: it drives the service from outside, like a client, and
imports the project only to seed data and mint tokens as the service does.
Nothing in domain/, application/, adapters/ or entrypoints/ imports it.
"""
