"""Mail: messages composed from jinja2 templates, sent over SMTP or kept in a
local directory (the embedded default)."""
