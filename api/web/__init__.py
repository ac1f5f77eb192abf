"""Server-rendered pages of the web UI (Jinja2; Russian by default, English switch)."""
