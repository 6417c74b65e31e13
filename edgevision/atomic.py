"""Atomic file writes: a temporary file in the same folder, then a rename.

An interrupted write never leaves a partial file under its final name.
"""

import contextlib
import json
import os
import tempfile
from pathlib import Path


@contextlib.contextmanager
def atomic_path(final, suffix=None):
    """Yield a temporary path next to `final`; rename it onto `final` if the block succeeds.

    For libraries that insist on writing to a path themselves (keras `save`, converters).
    The temporary name keeps the final suffix, since some writers look at it.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=suffix or final.suffix, dir=final.parent)
    os.close(fd)
    tmp = Path(tmp)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; users expect the usual file mode
    try:
        yield tmp
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_bytes(final, data: bytes):
    with atomic_path(final) as tmp:
        tmp.write_bytes(data)


def write_text(final, text: str):
    write_bytes(final, text.encode("utf-8"))


def write_json(final, obj):
    write_text(final, json.dumps(obj, indent=2, sort_keys=False) + "\n")
