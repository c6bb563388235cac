"""Postgres' Unix socket behind a link of the test's own: cut it and the services find no
socket file, as during a restart of the cluster (asyncpg: FileNotFoundError), while the
cluster, the tests' own connections (TCP) and other databases carry on."""

from __future__ import annotations

import os
from pathlib import Path

from tests.conftest import TEST_DB

SOCKET = ".s.PGSQL.5432"
ROOT = Path(__file__).resolve().parents[2]


def socket_directory() -> Path:
    """Where the cluster keeps its socket (Debian: /var/run/postgresql), as `make test`'s
    `deploy/local/db.sh` wrote it down for the services (`.run/postgres-socket`)."""
    noted = ROOT / ".run" / "postgres-socket"
    if not noted.is_file():
        raise RuntimeError(f"{noted} is missing: run the tests with `make test`")
    return Path(noted.read_text().strip())


class SocketLink:
    def __init__(self, real_directory: Path, link_directory: Path) -> None:
        self.target = real_directory / SOCKET
        self.directory = link_directory
        self.link = link_directory / SOCKET
        if not self.target.is_socket():
            raise RuntimeError(f"no Postgres socket at {self.target}")
        self.restore()

    def url(self, service: str) -> str:
        role = f"{service}_svc"
        return f"postgresql://{role}:{role}@/{TEST_DB}?host={self.directory}&port=5432"

    def cut(self) -> None:
        self.link.unlink(missing_ok=True)

    def restore(self) -> None:
        if not self.link.is_symlink():
            os.symlink(self.target, self.link)
