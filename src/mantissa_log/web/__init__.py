"""The web UI: pages rendered on the server (Jinja2, inline SVG charts, a little script of our own).

An edge like the API and the CLI: it calls services only (import-linter checks it), mounted on
the same app by `api.create_app`. Signing in turns an API token into a session cookie; every
form carries the session's CSRF token. See docs/WEB.md.
"""

from mantissa_log.web.app import install_web

__all__ = ["install_web"]
