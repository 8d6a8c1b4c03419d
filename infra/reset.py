"""`make reset`: forget the local stack's state, but never under a running stack.

It takes the stack's lock first (infra/stack_lock.py); while a stack holds it, reset
refuses and changes nothing. Standard library only: it runs without the virtualenv.
Usage: python -m infra.reset [state dir]   (default: $LOCAL_STATE_DIR or ./.local)
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from infra.stack_lock import LOCK_NAME, StackLock

ROOT = Path(__file__).resolve().parents[1]


def state_dir_from(arguments: list[str]) -> Path:
    if arguments:
        return Path(arguments[0])
    return Path(os.environ.get("LOCAL_STATE_DIR") or ROOT / ".local")


def reset(state_dir: Path) -> tuple[bool, str]:
    """(done, message): empties `state_dir` unless a running stack holds its lock."""
    if not state_dir.exists():
        return True, f"Nothing to reset: {state_dir} does not exist."
    lock = StackLock(state_dir)
    if not lock.acquire():
        return False, (
            f"The local stack is running (pid {lock.holder()}) on {state_dir}: stop it first "
            "(Ctrl-C in its terminal). Nothing was removed."
        )
    try:
        for path in state_dir.iterdir():
            if path.name == LOCK_NAME:
                continue  # still ours until released; removing it could let two stacks lock
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
    finally:
        lock.release()
    return True, f"Local state removed ({state_dir})."


def main() -> None:
    done, message = reset(state_dir_from(sys.argv[1:]))
    print(message, file=sys.stdout if done else sys.stderr)
    sys.exit(0 if done else 1)


if __name__ == "__main__":
    main()
