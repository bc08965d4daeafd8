"""`python -m pipelines watch [INBOX]`: the one writer of a live installation.

Files dropped into the inbox are loaded in the order they arrived, then what they changed is
rescored, awarded and published once for all the files that arrived together; each file then
moves to `processed/` or, if it could not be loaded, to `failed/` with a `.reason.txt` beside
it. Nothing is ever deleted.

A file is taken only when it is complete: a name ending in `.part` (or starting with a dot) is
still being written and is left alone, so a sender that can rename writes `NAME.part` and
renames it to `NAME` when done (seen renamed, it is taken at once); any other file is taken once
its size and modification time have stayed the same for `settle` seconds (a copy still running
keeps changing them).

Killed at any point (kill -9, a power cut), the watcher started again finishes what was half
done: a file stays in the inbox until its load has committed, so it is loaded again (rolled
back) or found loaded already (its rows are not counted twice), and the rescore and publish run
if the warehouse has changes the last snapshot does not hold.
"""
from __future__ import annotations

import errno
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pipelines import badges, db, load, publish, score
from pipelines.config import Settings
from pipelines.rules import load_rules

PROCESSED, FAILED = "processed", "failed"
REASON_SUFFIX = ".reason.txt"
POLL_SECONDS = 0.5
SETTLE_SECONDS = 1.0
DISK_FULL_WAIT_SECONDS = 10.0

Say = Callable[[str], None]


@dataclass
class Inbox:
    """The inbox folder and what has been seen of its files between polls."""
    path: Path
    settle: float = SETTLE_SECONDS
    _seen: dict[str, tuple[int, int, float]] = field(default_factory=dict)
    _parts: set[str] = field(default_factory=set)   # NAME.part files at the last look

    def __post_init__(self) -> None:
        for sub in (self.path, self.path / PROCESSED, self.path / FAILED):
            sub.mkdir(parents=True, exist_ok=True)

    def complete(self, now: float | None = None) -> list[Path]:
        """The files complete now, oldest first: the order they arrived in."""
        now = time.time() if now is None else now
        found, seen, parts = [], {}, set()
        for entry in self.path.iterdir():
            name = entry.name
            if name.endswith(".part"):
                parts.add(name)
            if name.startswith(".") or name.endswith((".part", REASON_SUFFIX)):
                continue
            try:
                st = entry.stat()
            except OSError:
                continue     # moved or removed meanwhile
            if not entry.is_file():
                continue
            shape = (st.st_size, st.st_mtime_ns)
            first = self._seen.get(name)
            # unchanged since it was first seen this way, for `settle` seconds
            since = first[2] if first and first[:2] == shape else now
            seen[name] = (*shape, since)
            renamed = f"{name}.part" in self._parts     # its sender said it is complete
            if renamed or (now - since >= self.settle and now - st.st_mtime >= self.settle):
                found.append((st.st_mtime_ns, name, entry))
        self._seen, self._parts = seen, parts
        return [entry for _, _, entry in sorted(found)]

    def move(self, path: Path, where: str, reason: str | None = None) -> Path:
        """Move a handled file out of the inbox (never overwriting one moved there before)."""
        target = self.path / where / path.name
        if target.exists():
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
            target = target.with_name(f"{path.stem}-{stamp}{path.suffix}")
        if reason is not None:
            target.with_name(target.name + REASON_SUFFIX).write_text(reason + "\n",
                                                                     encoding="utf-8")
        shutil.move(str(path), target)
        return target


def _disk_full(exc: BaseException) -> bool:
    return (isinstance(exc, OSError) and exc.errno == errno.ENOSPC) or \
        "No space left on device" in str(exc) or "disk is full" in str(exc).lower()


def _line(result: load.FileResult) -> str:
    if result.already_loaded_run is not None:
        return f"already loaded (run {result.already_loaded_run}): nothing new"
    parts = [f"{result.feed}: read {result.rows_read}", f"landed {result.landed}"]
    for label, n in (("updated", result.updated), ("duplicates", result.duplicates),
                     ("replaced", result.replaced), ("voided", result.voided),
                     ("skipped", result.skipped), ("quarantined", result.quarantined)):
        if n:
            parts.append(f"{label} {n}")
    return ", ".join(parts)


def handle(settings: Settings, inbox: Inbox, path: Path, say: Say, step: Say) -> bool:
    """Load one file and move it. True if it changed the warehouse (or may have)."""
    step(f"load {path.name}")
    try:
        [result] = load.load_paths(settings, [path])
    except db.WarehouseBusy:
        raise
    except Exception as exc:   # noqa: BLE001 - any file that breaks the loader goes to failed/
        if _disk_full(exc):
            raise
        result = load.FileResult(file=str(path), error=f"the loader failed: {exc!r}")
    if result.error:
        inbox.move(path, FAILED, result.error)
        say(f"{path.name}: failed: {result.error} -> {FAILED}/")
        return False
    inbox.move(path, PROCESSED)
    say(f"{path.name}: {_line(result)} -> {PROCESSED}/")
    return result.already_loaded_run is None


def catch_up(settings: Settings, say: Say, step: Say = lambda _: None) -> str | None:
    """Rescore what changed, award, and publish if the snapshot is behind: the same whether a
    batch just loaded or an earlier run was killed half-way. Returns the snapshot published."""
    rules = load_rules(settings.rules_path)
    step("score")
    with db.warehouse(settings.db_path) as con:
        result = score.score(con, rules)
        if not result.skipped:
            say(f"rescored {result.managers} managers, "
                f"{'all periods' if result.full else f'periods from {result.since}'}")
        step("award")
        if badges.needs_award(con):
            badges.award(con, rules)
    step("publish")
    if publish.needs_publish(settings):
        path = publish.publish(settings)
        say(f"published {path.name}")
        return path.name
    return None


def run(settings: Settings, inbox_dir: Path | None = None, *, once: bool = False,
        poll: float = POLL_SECONDS, settle: float = SETTLE_SECONDS,
        say: Say = print, stop: Callable[[], bool] = lambda: False, trace: bool = False) -> None:
    """Watch the inbox until stopped (`once`: handle what is complete now, then return).
    `trace`: also say each step as it starts (load, score, award, publish)."""

    def step(name: str) -> None:
        if trace:
            say(f"step: {name}")
    inbox = Inbox(inbox_dir or settings.inbox_dir, settle=0.0 if once else settle)
    say(f"watching {inbox.path} (complete files only: NAME.part is left until renamed)")
    pending = True    # an earlier run may have been killed after a load, before its publish
    while not stop():
        try:
            batch = inbox.complete()
            for path in batch:
                pending |= handle(settings, inbox, path, say, step)
            if pending:
                catch_up(settings, say, step)
                pending = False
        except Exception as exc:
            if not _disk_full(exc):
                raise
            say(f"the disk is full ({exc}); nothing is lost: waiting "
                f"{DISK_FULL_WAIT_SECONDS:.0f} s before trying again")
            time.sleep(DISK_FULL_WAIT_SECONDS)
            pending = True
            continue
        if once:
            return
        time.sleep(poll)
