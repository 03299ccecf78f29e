"""The sandbox state as a JSON file, so the demo survives a restart of the sandbox.

Counters and the test clock are not saved: they describe one run. Faults are saved, because
unlinked accounts and revoked grants are faults.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from relink.sandbox.oauth_models import AuthorizationCode, Family, Token

if TYPE_CHECKING:
    from relink.sandbox.state import SandboxState

FORMAT_VERSION = 1
# The file holds live tokens and API keys: its owner alone reads it, as with Relink's own files.
STATE_FILE_MODE = 0o600
STATE_DIR_MODE = 0o700


def dump(state: SandboxState) -> dict[str, Any]:
    tokens = state.all_tokens()
    return {
        "version": FORMAT_VERSION,
        "codes": [asdict(c) for c in state.codes.values()],
        "spent_codes": state.spent_codes,
        "families": [asdict(f) for f in state.families.values()],
        "tokens": [asdict(t) for t in tokens],
        "api_keys": state.api_keys,
        "faults": state.faults.to_list(),
    }


def save(state: SandboxState, path: Path) -> None:
    """Write the state to ``path`` (0600), replacing it whole."""
    if not path.parent.is_dir():
        path.parent.mkdir(parents=True, exist_ok=True, mode=STATE_DIR_MODE)
    # Write then rename, so a crash mid-write never leaves half a file to load.
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, STATE_FILE_MODE)
    # A temporary file left by an older version keeps its mode through O_CREAT: narrow it.
    os.fchmod(fd, STATE_FILE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(dump(state), indent=1))
    os.replace(tmp, path)


def load(state: SandboxState, path: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("version") != FORMAT_VERSION:
        return
    state.codes = {c["code"]: AuthorizationCode(**c) for c in data["codes"]}
    state.spent_codes = dict(data["spent_codes"])
    state.families = {f["id"]: Family(**f) for f in data["families"]}
    state.tokens_by_access = {}
    state.tokens_by_refresh = {}
    for item in data["tokens"]:
        state.store_token(Token(**item), persist=False)
    # Keys of accounts no longer in the world are dropped; new accounts keep their demo key.
    state.api_keys.update({k: v for k, v in data["api_keys"].items() if k in state.api_keys})
    state.faults.load(data["faults"])
