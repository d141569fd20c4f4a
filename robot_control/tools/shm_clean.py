"""Remove Fast DDS shared-memory files that no live process uses any more.

SIGKILLed DDS participants leave segments, port files and semaphores in /dev/shm. A
file is removed only when no process on the machine has it open or mapped, so running
stacks are never disturbed. Used by CI before and after the test suite.

    python -m robot_control.tools.shm_clean [--dry-run]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

PREFIXES = ("fastrtps_", "fastdds_", "sem.fastrtps_", "sem.fastdds_")


def files_in_use(proc: Path = Path("/proc")) -> set[str]:
    used: set[str] = set()
    for pid_dir in proc.iterdir():
        if not pid_dir.name.isdigit():
            continue
        try:
            for fd in (pid_dir / "fd").iterdir():
                try:
                    used.add(os.readlink(fd))
                except OSError:
                    pass
            with open(pid_dir / "maps", encoding="utf-8", errors="replace") as maps:
                for line in maps:
                    if "/dev/shm/" in line:
                        used.add(line.split(None, 5)[-1].strip().removesuffix(" (deleted)"))
        except OSError:  # process ended or not ours to read
            continue
    return used


def stale_files(shm: Path = Path("/dev/shm")) -> list[Path]:
    if not shm.is_dir():
        return []
    candidates = [p for p in shm.iterdir() if p.name.startswith(PREFIXES)]
    if not candidates:
        return []
    used = files_in_use()
    return [p for p in candidates if str(p) not in used]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)
    stale = stale_files()
    for path in stale:
        if not args.dry_run:
            try:
                path.unlink()
            except OSError:
                continue
    verb = "would remove" if args.dry_run else "removed"
    print(f"shm_clean: {verb} {len(stale)} stale Fast DDS file(s) from /dev/shm")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
