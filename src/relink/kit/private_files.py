"""Files only their owner can read: the database, the generated key, and the folder that holds them.

They hold sealed credentials, password hashes and the key that opens the credentials, so the
files are 0600 and their folder 0700, from the moment they exist (created with that mode, not
chmod'ed after a window in which another local user could open them).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700
# SQLite writes beside the database: the write-ahead log, its shared-memory index, and the
# rollback journal. It creates them with the database file's own mode, but files left by an
# older version may be wider, so they are tightened too.
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def tighten(path: Path, mode: int) -> None:
    """Narrow ``path`` to ``mode``; a file owned by someone else is theirs to set, not ours."""
    with contextlib.suppress(PermissionError):
        path.chmod(mode)


def private_dir(path: Path, *, tighten_existing: bool = True) -> Path:
    """``path`` as a folder (made if missing) that only its owner can enter.

    A folder Relink makes is always 0700. An existing one is tightened only with
    ``tighten_existing``: a folder the operator chose for other things too is theirs to set.
    """
    existed = path.is_dir()
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    if tighten_existing or not existed:
        # mkdir's mode is filtered by the umask; chmod is not.
        tighten(path, PRIVATE_DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """``path`` as an existing file (created empty if missing) readable by its owner only."""
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE_FILE_MODE))
    except FileExistsError:
        # Opened by whoever made it; only its mode is ours to narrow.
        tighten(path, PRIVATE_FILE_MODE)
    return path


def create_private_text(path: Path, text: str) -> bool:
    """Write ``text`` to a new 0600 file at ``path``; False (nothing written) if it exists.

    The text goes to a private temporary file that is then hard-linked into place: linking
    fails if ``path`` exists, so two processes starting at once cannot both write a different
    key, and a reader never sees a half-written file.
    """
    if path.exists():
        return False
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        # mkstemp creates 0600 already; say so rather than rely on it.
        os.fchmod(fd, PRIVATE_FILE_MODE)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
        return True
    finally:
        os.unlink(temporary)


def private_sqlite_file(database: Path) -> None:
    """Create the SQLite file 0600 before SQLite does, so its WAL and journal inherit 0600."""
    private_file(database)
    for suffix in SQLITE_SIDE_FILES:
        side = database.with_name(database.name + suffix)
        if side.exists():
            tighten(side, PRIVATE_FILE_MODE)
