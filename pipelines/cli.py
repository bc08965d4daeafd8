"""Command line `python -m pipelines <verb>`: the one place errors become messages and exits."""
from __future__ import annotations

import argparse
import json
import sys
import unicodedata
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from dashboard import i18n
from pipelines import (
    badges,
    db,
    demo,
    explain,
    load,
    openbadges,
    publish,
    score,
    season,
    simulate,
    watch,
)
from pipelines.config import load_settings
from pipelines.contract import LOCAL_TIMEZONE
from pipelines.profiles import ProfileError
from pipelines.pseudonym import load_key
from pipelines.rules import RulesError, load_rules
from pipelines.sources import SourceError

EXIT_OK, EXIT_USER_ERROR = 0, 2
console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def _settings(args: argparse.Namespace):
    return load_settings().with_db(getattr(args, "db", None))


def cmd_demo(args: argparse.Namespace) -> int:
    settings = _settings(args)
    out = Path(args.out) if args.out else settings.demo_dir
    if out.exists() and any(out.iterdir()) and not args.force:
        console.print(f"demo files already in {out} (use --force to write them again)")
        return EXIT_OK
    manifest = demo.generate(out, seed=args.seed)
    for name, info in manifest["files"].items():
        console.print(f"  {out / name}: {info['rows']} rows ({info['feed']})")
    return EXIT_OK


def _print_load(results: list[load.FileResult]) -> None:
    table = Table(title="Load summary")
    for col in ("file", "feed", "detected", "read", "landed", "updated", "duplicates",
                "quarantined", "skipped", "reasons"):
        table.add_column(col, overflow="fold")
    for r in results:
        name = Path(r.file).name
        if r.error:
            table.add_row(name, "", "", "", "", "", "", "", "",
                          f"[red]not loaded:[/] {escape(r.error)}")
        elif r.already_loaded_run is not None:
            table.add_row(name, r.feed, "", "", "", "", "", "", "",
                          f"already loaded (run {r.already_loaded_run}): nothing added "
                          "(--force loads it again)")
        else:
            table.add_row(name, r.feed, " ".join(str(v) for v in r.detected.values()),
                          str(r.rows_read), str(r.landed), str(r.updated), str(r.duplicates),
                          str(r.quarantined), str(r.skipped),
                          escape(", ".join(f"{k}: {v}" for k, v in
                                           {**r.reasons, **r.skip_reasons}.items())
                                 + (f" (voided {r.voided} earlier)" if r.voided else "")
                                 + (f" (replaced {r.replaced} earlier)" if r.replaced else "")
                                 + (f" (resolved {r.resolved} quarantined earlier)"
                                    if r.resolved else "")))
    console.print(table)
    for r in results:
        for note in r.notes:
            console.print(f"{escape(Path(r.file).name)}: {escape(note)}")


def _print_retry(results: list[load.FileResult]) -> None:
    if not results:
        console.print("no quarantined rows are waiting: nothing to load again")
        return
    done = [r for r in results if not r.error]
    console.print(
        f"loaded again {len(done)} of {len(results)} file(s) with rows in quarantine: "
        f"{sum(r.landed + r.updated for r in done)} row(s) landed now, "
        f"{sum(r.resolved for r in done)} earlier quarantined row(s) resolved, "
        f"{sum(r.quarantined for r in done)} still in quarantine"
        + (f"; {len(results) - len(done)} could not be loaded again (below)"
           if len(done) < len(results) else ""))


class _LoadProgress:
    """A bar over each large file's load steps (small files finish too fast to need one)."""

    LARGE = 20 * 1024 * 1024

    def __init__(self, paths: list[Path]) -> None:
        self.large = {str(p) for p in load.expand(paths) if p.is_file()
                      and p.stat().st_size >= self.LARGE}
        self.bar = Progress(TextColumn("{task.description}"), BarColumn(),
                            TextColumn("{task.fields[step]}"), TimeElapsedColumn(),
                            console=err, transient=True, disable=not self.large)
        self.tasks: dict[str, int] = {}

    def __call__(self, file: str, step: str) -> None:
        if file not in self.large:
            return
        if file not in self.tasks:
            self.tasks[file] = self.bar.add_task(Path(file).name, total=len(load.STEPS), step="")
        self.bar.update(self.tasks[file], completed=load.STEPS.index(step), step=step)

    def __enter__(self) -> _LoadProgress:
        self.bar.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.bar.__exit__(*exc)


def _row_number(text: str) -> int:
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a row number: give the row as Excel "
                                         "numbers it, 1 for the first")
    return int(text)


def cmd_load(args: argparse.Namespace) -> int:
    if not args.paths and not args.retry_quarantine:
        raise SourceError("nothing to load: give files or folders, or --retry-quarantine to "
                          "load again the files whose rows are still in quarantine")
    paths = [Path(p) for p in args.paths]
    settings = _settings(args)
    results, retried = [], []
    with _LoadProgress(paths) as progress:
        if paths:
            results = load.load_paths(settings, paths, feed=args.feed, profile=args.profile,
                                      progress=progress, force=args.force, sheet=args.sheet,
                                      header_row=args.header_row)
        if args.retry_quarantine:   # after the files given: a fixed roster loads first
            retried = load.retry_quarantine(settings, progress=progress)
    results += retried
    if args.json:
        print(json.dumps([asdict(r) for r in results], ensure_ascii=False, indent=1))
    else:
        if results:
            _print_load(results)
        if args.retry_quarantine:
            _print_retry(retried)
    failed = [r for r in results if r.error]
    for r in failed:
        err.print(f"[bold red]error:[/] {escape(r.error)}")
    if args.retry_quarantine and not paths:
        return EXIT_USER_ERROR if failed else EXIT_OK
    if not results:
        err.print("[bold red]error:[/] no file to load there: give files ending in "
                  f"{', '.join(sorted(load.LOADABLE))}, or a folder holding some")
    return EXIT_USER_ERROR if failed or not results else EXIT_OK


def _print_score(result: score.ScoreResult) -> None:
    if result.skipped:
        console.print(f"scores are up to date (rules {result.rules_version})")
        return
    scope = "all periods" if result.full else f"periods from {result.since} on"
    console.print(f"scored {result.managers} managers over {result.periods} periods ({scope}; "
                  f"{result.metric_rows} metric rows) in {result.seconds}s, "
                  f"rules {result.rules_version}")


def cmd_score(args: argparse.Namespace) -> int:
    settings = _settings(args)
    rules = load_rules(settings.rules_path)
    with db.warehouse(settings.db_path) as con:
        _print_score(score.score(con, rules, force=args.force, since=args.since))
        if badges.needs_award(con) or args.force:
            _print_award(badges.award(con, rules))
    return EXIT_OK


def _print_award(result: badges.AwardResult) -> None:
    console.print(f"badges: {result.awarded} awarded, {result.revoked} revoked, "
                  f"{result.active} held; {result.level_ups} level-ups; "
                  f"{result.celebrations} new celebrations; XP for {result.xp_managers} managers")


def _require_current_scores(con, rules, what: str) -> None:
    """Badges and closed seasons are made from the scores: never from stale ones."""
    if score.needs_scoring(con, rules):
        raise SourceError(f"the scores are older than the data or the rules: run `python -m "
                          f"pipelines score` first, then {what} again")


def cmd_award(args: argparse.Namespace) -> int:
    settings = _settings(args)
    rules = load_rules(settings.rules_path)
    with db.warehouse(settings.db_path) as con:
        _require_current_scores(con, rules, "award")
        _print_award(badges.award(con, rules))
    return EXIT_OK


def cmd_season(args: argparse.Namespace) -> int:
    settings = _settings(args)
    season.quarter_bounds(args.season)   # a mistyped label is told first
    if args.action == "close":
        rules = load_rules(settings.rules_path)
        with db.warehouse(settings.db_path) as con:
            _require_current_scores(con, rules, f"season close {args.season}")
            if badges.needs_award(con):
                raise SourceError("the badges are older than the scores: run `python -m "
                                  f"pipelines award` first, then season close {args.season} "
                                  "again")
            done = season.close(con, args.season, rules.version)
            db.set_state(con, "game_changed", str(done["closed_at"]))
        console.print(f"season {done['season']} closed: {done['managers']} managers and "
                      f"{done['teams']} teams frozen (data up to {done['data_end']}); "
                      f"export it with `python -m pipelines season export {done['season']}`")
        return EXIT_OK
    out = Path(args.to) if args.to else settings.data_dir / "exports"
    with db.warehouse(settings.db_path) as con:
        for path in season.export(con, args.season, out):
            console.print(f"  wrote {path}")
    return EXIT_OK


def cmd_export_badges(args: argparse.Namespace) -> int:
    settings = _settings(args)
    rules = load_rules(settings.rules_path)
    out = Path(args.to) if args.to else settings.data_dir / "badges"
    with db.warehouse(settings.db_path) as con:
        paths = openbadges.export_badges(con, rules, out, load_key(settings.secret_dir))
    console.print(f"{len(paths)} Open Badges 3.0 credentials in {out}")
    return EXIT_OK


def cmd_celebrations(args: argparse.Namespace) -> int:
    settings = _settings(args)
    since = None
    if args.since:
        try:
            since = datetime.fromisoformat(args.since)
        except ValueError as exc:
            raise SourceError(f"--since {args.since!r} is not a time; use ISO form, e.g. "
                              "2026-11-28T09:00 or 2026-11-28T09:00+08:00") from exc
        if since.tzinfo is None:
            since = since.replace(tzinfo=ZoneInfo(LOCAL_TIMEZONE))
    with db.warehouse(settings.db_path) as con:
        events = badges.celebrations(con, since, limit=args.limit)
    if args.json:
        print(json.dumps(events, ensure_ascii=False, indent=1, default=str))
        return EXIT_OK
    # --since picks what award runs recorded after it (what is new to the reader); "day" is
    # the data day it happened on, which a late export can put well before that
    table = Table(title=f"Recorded since {since.isoformat() if since else 'the start'}")
    local = ZoneInfo(LOCAL_TIMEZONE)
    for col in ("day", "recorded", "what", "who", "detail"):
        table.add_column(col, overflow="fold")
    for e in events:
        who = e["subject_name"] or e["subject_id"]
        detail = {"badge": f"{e['badge_key']} ({e['tier']}) {e['period']}",
                  "level_up": f"level {e['level_no']}",
                  "overtake": f"passed {e['other_name'] or e['other_id']}"
                              + (f" and {e['passed'] - 1} more" if (e["passed"] or 1) > 1 else "")
                              + f" to #{e['new_rank']} ({e['grain']} {e['period']})"}[e["kind"]]
        recorded = e["recorded_at"].replace(tzinfo=UTC).astimezone(local)
        table.add_row(str(e["occurred_on"]), f"{recorded:%Y-%m-%d %H:%M}", e["kind"], who,
                      detail)
    console.print(table)
    return EXIT_OK


def cmd_explain(args: argparse.Namespace) -> int:
    settings = _settings(args)
    rules = load_rules(settings.rules_path)
    lang = args.lang
    t = i18n.translator(lang)
    with db.warehouse(settings.db_path) as con:
        found = explain.explain(con, rules, args.manager, args.grain, args.period,
                                args.dimension, lang=lang)
    if found["index"] is None:
        who = t("explain.suggestion", name=found["name"], id=found["manager_id"])
        raise SourceError(t("explain.no_scores", who=who, period=found["period"],
                            grain=t(f"explain.grain_{found['grain']}")))
    if args.json:
        print(json.dumps(found, ensure_ascii=False, indent=1, default=str))
        return EXIT_OK
    # names, teams and row ids come from bank files: Text keeps them plain (no Rich markup)
    idx = found["index"]
    console.print(_plain(t("explain.person", name=found["name"], id=found["manager_id"],
                           team=found["team_name"], branch=found["branch"],
                           peer_group=t(f"peer_group.{found['peer_group']}"))))
    console.print(_plain(t("explain.period", grain=t(f"explain.grain_{found['grain']}"),
                           period=found["period"], start=found["from"], end=found["to"],
                           rules=idx["rules_version"])))
    standing = [t("explain.index", score=_num(idx["score"]) if idx["status"] == "ok"
                  else explain.status_text(idx["status"], lang))]
    if idx["gate_reason"]:
        standing.append(t("explain.not_ranked",
                          reason=explain.gate_text(idx["gate_reason"], lang)))
    elif idx["rank_overall"]:
        standing += [t("explain.rank", rank=idx["rank_overall"]),
                     t("explain.peer_rank", rank=idx["rank_peer"] or "-")]
    console.print(_plain(" ・ ".join(standing)))
    for dim, d in found["dimensions"].items():
        score_text = (_num(d["score"]) if d["status"] == "ok"
                      else explain.status_text(d["status"], lang))
        without = explain.fallback_text(d, lang)
        table = Table(title=_plain(t("explain.dimension", dimension=t(f"dimension.{dim}"),
                                     score=score_text) + (f" ({without})" if without else "")),
                      title_justify="left")
        for col in ("metric", "value", "score", "status", "normalised", "rows", "hits"):
            table.add_column(t(f"explain.{col}"), overflow="fold")
        table.add_column(t("explain.ids", n=IDS_SHOWN), overflow="fold")
        for m in d["metrics"]:
            reason = explain.reason_text(m, lang)
            table.add_row(*map(_plain, (
                t(f"metric.{m['metric']}"), _num(m["value"], 3), _num(m["score"]),
                explain.status_text(m["status"], lang) + (f": {reason}" if reason else ""),
                explain.normalisation_text(m["normalisation"], lang), str(len(m["rows"])),
                "-" if m["hits"] is None else str(len(m["hits"])),
                ", ".join(map(str, m["rows"][:IDS_SHOWN])))))
        console.print(table)
    return EXIT_OK


IDS_SHOWN = 4


def _plain(text: str) -> Text:
    """Text shown as it is: no Rich markup or emoji codes, and no terminal control characters."""
    return Text("".join("\ufffd" if unicodedata.category(c).startswith("C") else c
                        for c in text))


def _lang(text: str) -> str:
    for code in i18n.LANGUAGES:
        if text.replace("_", "-").lower() == code.lower():
            return code
    raise argparse.ArgumentTypeError(f"{text!r} is not one of {', '.join(i18n.LANGUAGES)}")


def _num(v: float | None, digits: int = 1) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def cmd_publish(args: argparse.Namespace) -> int:
    path = publish.publish(_settings(args))
    console.print(f"published {path}")
    return EXIT_OK


def cmd_build(args: argparse.Namespace) -> int:
    """Everything `make run` needs before the server starts, skipping what is already done."""
    settings = _settings(args)
    manifest = settings.demo_dir / demo.MANIFEST_FILE
    if not settings.db_path.exists() and not manifest.exists():
        console.print("no warehouse yet: generating the demo organisation")
        demo.generate(settings.demo_dir, seed=demo.DEFAULT_SEED)
    elif manifest.exists() and not demo.is_current(settings.demo_dir):
        # demo files from an older version: the same seed rewrites the old files identically,
        # so only what is new loads
        console.print("demo files are from an older version: writing them again")
        demo.generate(settings.demo_dir, seed=demo.DEFAULT_SEED)
    if (settings.demo_dir / demo.MANIFEST_FILE).exists():
        results = load.load_paths(settings, demo.demo_files(settings.demo_dir))
        if any(r.already_loaded_run is None for r in results):
            _print_load(results)
        if any(r.error for r in results):
            raise SourceError("; ".join(r.error for r in results if r.error))
    rules = load_rules(settings.rules_path)
    with db.warehouse(settings.db_path) as con:
        result = score.score(con, rules)
        awarded = badges.award(con, rules) if badges.needs_award(con) else None
    if not result.skipped:
        _print_score(result)
    if awarded:
        _print_award(awarded)
    if (settings.demo_dir / demo.MANIFEST_FILE).exists():
        _close_demo_seasons(settings, rules)
    if publish.needs_publish(settings):
        console.print(f"published {publish.publish(settings)}")
    else:
        console.print("snapshot is up to date")
    return EXIT_OK


def cmd_watch(args: argparse.Namespace) -> int:
    settings = _settings(args)

    def say(text: str) -> None:
        stamp = datetime.now(ZoneInfo(LOCAL_TIMEZONE)).strftime("%Y-%m-%d %H:%M:%S")
        console.print(Text(f"{stamp} {text}"), soft_wrap=True)
    try:
        watch.run(settings, Path(args.inbox) if args.inbox else None, once=args.once,
                  poll=args.poll, settle=args.settle, say=say, trace=args.trace)
    except KeyboardInterrupt:
        say("stopped (a file being loaded, if any, was rolled back and stays in the inbox)")
        return 130
    return EXIT_OK


def cmd_simulate(args: argparse.Namespace) -> int:
    if args.rate <= 0:
        raise simulate.SimulateError("--rate must be more than 0 files a minute")
    settings = _settings(args)
    try:
        n = simulate.run(settings, args.rate, Path(args.inbox) if args.inbox else None,
                         args.count, args.seed, say=lambda t: console.print(Text(t)))
    except KeyboardInterrupt:
        return 130
    console.print(f"dropped {n} file(s)")
    return EXIT_OK


def _close_demo_seasons(settings, rules) -> None:
    """The demo shows closed seasons: every quarter its data has finished is closed once. A
    bank closes its own with `season close`, after late corrections are in."""
    with db.warehouse(settings.db_path) as con:
        quarters = [q for (q,) in con.execute(
            "SELECT DISTINCT period FROM awareness_index WHERE grain = 'quarter' "
            "AND period NOT IN (SELECT season FROM season) ORDER BY period").fetchall()]
        for q in quarters:
            try:
                done = season.close(con, q, rules.version)
            except season.SeasonError:
                continue    # still running
            db.set_state(con, "game_changed", str(done["closed_at"]))
            console.print(f"demo: season {q} closed")


def _positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 1 or more")
    return n


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pipelines",
                                     description="Awareness Leaderboard data pipelines.")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", help="warehouse file (default: $AWARENESS_DB or "
                                     "data/warehouse.duckdb)")
    sub = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    p = sub.add_parser("demo", parents=[common], help="write the demo organisation's input files",
                       description="Write a deterministic demo organisation (roster, targets, "
                                   "marketing, contacts, xAPI learning) as real export files.")
    p.add_argument("--out", help="folder (default data/demo)")
    p.add_argument("--seed", type=int, default=demo.DEFAULT_SEED, help="random seed")
    p.add_argument("--force", action="store_true", help="overwrite existing demo files")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("load", parents=[common], help="load export files into the warehouse",
                       description="Load CSV/TSV/XLSX/xAPI files (or folders of them). Every row "
                                   "lands, is a duplicate, or is skipped or quarantined with a "
                                   "reason.")
    p.add_argument("paths", nargs="*", metavar="PATH", help="files or folders")
    p.add_argument("--feed", help="which feed the files are (default: detected from headers)")
    p.add_argument("--profile", help="mapping profile name or .toml file")
    p.add_argument("--force", action="store_true",
                   help="load the files even if they were loaded before (rows stored then are "
                        "duplicates; rows quarantined then land if they now pass)")
    p.add_argument("--retry-quarantine", action="store_true",
                   help="load again, forced, every earlier file whose rows are still in "
                        "quarantine and that is unchanged at its path (after fixing the "
                        "roster or a profile); given files load first")
    p.add_argument("--sheet", metavar="NAME",
                   help="the Excel sheet to read (default: the one whose column names a profile "
                        "knows best)")
    p.add_argument("--header-row", type=_row_number, metavar="N",
                   help="the Excel row holding the column names, counted from 1 (default: "
                        "found among the first rows, under any title rows)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=cmd_load)

    p = sub.add_parser("score", parents=[common], help="score the ten dimensions",
                       description="Compute metric, dimension and index scores per week, month "
                                   "and quarter from pipelines/rules.toml.")
    p.add_argument("--force", action="store_true",
                   help="rescore every period even if nothing changed")
    p.add_argument("--since", metavar="PERIOD",
                   help="rescore the periods from this one on (2026-10, 2026-W42, 2026Q3); "
                        "by default only the periods new data can change")
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("explain", parents=[common], help="show what is behind a person's scores",
                       description="For one manager and period: each dimension, its metrics, "
                                   "how each was normalised, and the log rows behind it.")
    p.add_argument("manager", help="manager id (RM001) or name as in the roster (王大明)")
    p.add_argument("period", help="2026-10 (month), 2026-W42 (week) or 2026Q3 (quarter)")
    p.add_argument("--grain", choices=["week", "month", "quarter"],
                   help="default: read from the period's form")
    p.add_argument("--dimension", help="only this dimension: its key (marketing) or label in "
                                       "any language (營銷意識, 营销, Marketing)")
    p.add_argument("--lang", type=_lang, default=i18n.DEFAULT, metavar="|".join(i18n.LANGUAGES),
                   help=f"language of the output and messages (default {i18n.DEFAULT}); "
                        "--json keys stay English")
    p.add_argument("--json", action="store_true", help="print it as JSON")
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser("award", parents=[common], help="XP, levels, badges and celebrations",
                       description="Recompute XP and levels, award the badges the scores now "
                                   "support and revoke those they no longer do (with the "
                                   "reason), and record new celebrations. `score` runs this "
                                   "after scoring; running it twice changes nothing.")
    p.set_defaults(func=cmd_award)

    p = sub.add_parser("season", parents=[common], help="close or export a season (a quarter)",
                       description="close: freeze a finished quarter's final standings (they "
                                   "never change again); export: write them as Excel and CSV.")
    p.add_argument("action", choices=["close", "export"])
    p.add_argument("season", help="the quarter, e.g. 2026Q3")
    p.add_argument("--to", help="export folder (default data/exports)")
    p.set_defaults(func=cmd_season)

    p = sub.add_parser("export-badges", parents=[common],
                       help="write the awards as Open Badges 3.0 credentials",
                       description="One OpenBadgeCredential JSON-LD file per held award, the "
                                   "recipient as a salted hash; awards revoked since the last "
                                   "export lose their file.")
    p.add_argument("--to", help="folder (default data/badges)")
    p.set_defaults(func=cmd_export_badges)

    p = sub.add_parser("celebrations", parents=[common], help="what was recorded since a time",
                       description="New badges, level-ups and overtakes recorded by award runs "
                                   "since a time (what the wall screen celebrates), newest "
                                   "first, each with the data day it happened on.")
    p.add_argument("--since", help="ISO time, e.g. 2026-11-28T09:00 (local time unless it has "
                                   "an offset); default: everything")
    p.add_argument("--limit", type=_positive, default=50, help="at most this many (default 50)")
    p.add_argument("--json", action="store_true", help="print them as JSON")
    p.set_defaults(func=cmd_celebrations)

    p = sub.add_parser("publish", parents=[common], help="publish the dashboard's snapshot",
                       description="Write a new read-only snapshot for the dashboard and point "
                                   "the dashboard at it atomically.")
    p.set_defaults(func=cmd_publish)

    p = sub.add_parser("watch", parents=[common], help="load files dropped into an inbox, live",
                       description="The one writer of a live installation: load each complete "
                                   "file dropped into INBOX in arrival order, rescore, award and "
                                   "publish once per batch, and move each file to processed/ or "
                                   "failed/ (with NAME.reason.txt). Write NAME.part and rename "
                                   "it when done, or the file is taken once its size has not "
                                   "changed for --settle seconds.")
    p.add_argument("inbox", nargs="?", help="folder to watch (default $AWARENESS_INBOX or "
                                            "data/inbox)")
    p.add_argument("--once", action="store_true",
                   help="handle what is in the inbox now, then stop (for cron)")
    p.add_argument("--poll", type=float, default=watch.POLL_SECONDS,
                   help=f"seconds between looks at the inbox (default {watch.POLL_SECONDS})")
    p.add_argument("--settle", type=float, default=watch.SETTLE_SECONDS,
                   help="seconds a file's size must stay the same before it is taken "
                        f"(default {watch.SETTLE_SECONDS})")
    p.add_argument("--trace", action="store_true",
                   help="also print each step as it starts (load, score, award, publish)")
    p.set_defaults(func=cmd_watch)

    p = sub.add_parser("simulate", parents=[common], help="drip demo activity into the inbox",
                       description="For a demo: write small client-contact exports of the "
                                   "published organisation's people into the inbox, RATE files "
                                   "a minute, as a CRM would.")
    p.add_argument("--rate", type=float, default=6.0, help="files a minute (default 6)")
    p.add_argument("--count", type=_positive, help="stop after this many files")
    p.add_argument("--inbox", help="folder (default $AWARENESS_INBOX or data/inbox)")
    p.add_argument("--seed", type=int, help="random seed (default: a new one each run)")
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("build", parents=[common], help="demo (if needed), load, score, publish",
                       description="What `make run` does before serving: generate the demo if "
                                   "there is no warehouse, load new files, score, publish.")
    p.set_defaults(func=cmd_build)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if getattr(args, "verb", None) == "explain" and args.grain is None:
            args.grain = score.parse_period(args.period)[0]   # from the label's form
        return args.func(args)
    except (SourceError, ProfileError, RulesError, season.SeasonError,
            score.UsageError, db.WarehouseBusy, simulate.SimulateError) as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}")
        return EXIT_USER_ERROR
    except duckdb.IOException as exc:
        if "not a valid DuckDB database" in str(exc):
            err.print(f"[bold red]error:[/] {escape(str(exc).splitlines()[0])}: point --db (or "
                      "AWARENESS_DATA) at the warehouse file, not at another file")
        else:
            err.print(f"[bold red]error:[/] cannot open the warehouse ({escape(str(exc))}); is "
                      "another pipeline command running? Wait for it to finish and try again.")
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        err.print("interrupted: the file being loaded was rolled back")
        return 130


if __name__ == "__main__":
    sys.exit(main())
