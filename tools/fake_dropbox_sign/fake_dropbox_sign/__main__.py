"""``python -m fake_dropbox_sign --port 12114``: serve the fake on 127.0.0.1."""

from __future__ import annotations

import argparse
import os

import uvicorn

from fake_dropbox_sign.app import DEFAULT_API_KEY, create_app

DEFAULT_PORT = 12114


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="fake_dropbox_sign", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument(
        "--api-key", default=os.environ.get("FAKE_DROPBOX_SIGN_API_KEY") or DEFAULT_API_KEY
    )
    parser.add_argument(
        "--callback-url",
        default=os.environ.get("FAKE_DROPBOX_SIGN_CALLBACK_URL") or None,
        help="where signed event callbacks are POSTed (default: none)",
    )
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    app = create_app(args.api_key, args.callback_url)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)


if __name__ == "__main__":
    main()
