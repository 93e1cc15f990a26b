"""Run the language server with `python -m lsp`; `ragcoder serve` does the same."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

# `python -m lsp` puts the working directory first on sys.path, and editors start the server
# in the user's repository. A module there such as prompts.py would shadow ragcoder's own
# packages, so that entry is dropped before they are imported, unless it is ragcoder's source tree.
if sys.path and Path(sys.path[0]).resolve() == Path.cwd().resolve() != Path(__file__).resolve().parents[1]:
    del sys.path[0]

from assistant.config import Settings, load_repository_settings
from lsp.server import serve

EXAMPLES = """examples:
  python -m lsp                          serve over stdio (what editors start)
  python -m lsp --tcp 127.0.0.1:2087     serve one client over TCP
  python -m lsp --repo . -vv --log-file /tmp/ragcoder-lsp.log
"""


def parse_tcp(value: str) -> tuple[str, int]:
    """Parse HOST:PORT for `--tcp`."""
    host, separator, port = value.rpartition(":")
    if not separator or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT such as 127.0.0.1:2087, got {value!r}")
    return host, int(port)


def build_parser() -> argparse.ArgumentParser:
    """Describe the command line of `python -m lsp`."""
    parser = argparse.ArgumentParser(
        prog="python -m lsp",
        description="ragcoder language server (stdio by default).",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--tcp", type=parse_tcp, metavar="HOST:PORT", help="listen on TCP instead of stdio")
    parser.add_argument(
        "--repo", type=Path, help="repository root (default: the editor's workspace folder)"
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more (-v info, -vv debug)")
    parser.add_argument("--log-file", type=Path, help="write logs to this file instead of stderr")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Configure logging (never on stdout, which carries the protocol) and serve."""
    args = build_parser().parse_args(argv)
    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)]
    log_format = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    if args.log_file is not None:
        logging.basicConfig(level=level, format=log_format, filename=args.log_file)
    else:
        logging.basicConfig(level=level, format=log_format, stream=sys.stderr)

    repo = args.repo.resolve() if args.repo is not None else None
    settings = load_repository_settings(repo) if repo is not None else Settings()
    serve(settings, repo, args.tcp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
