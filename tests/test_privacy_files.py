"""Nothing about a client is recoverable from any file we write.

Files holding client names, client ids and national ids are loaded the ways a bank loads them
(UTF-8 and Big5 CSV, a workbook, an export without row ids, rows quarantined, a load that fails
halfway), scored and published. Then every file under the data directory is searched for those
names and ids, byte for byte in every encoding they could be written in and, for databases,
cell by cell; and every stored value is tried against unkeyed hashes of candidate client ids,
the way someone holding a list of the bank's clients would try."""
from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import duckdb
import openpyxl
import pytest

from pipelines import badges, db, load, publish, redact, score
from pipelines.rules import load_rules
from pipelines.sources import csv_source
from tests.conftest import query, write_csv

# client names and ids nobody else in the repo uses, so a hit is a leak and nothing else
NAMES = ["閻羅宇", "鍾馗福", "宏碁貿易股份有限公司", "裏恒企業社"]
IDS = ["A123456789", "F223344556", "CUST880017", "CUST880042", "9000123456"]
PHONES = ["0912-345-678", "0287654321"]
SECRETS = [*NAMES, *IDS, *PHONES]
ENCODINGS = ("utf-8", "utf-16-le", "utf-16-be", "cp950", "gb18030")

CRM_HEAD = ["客戶經理工號", "客戶編號", "客戶名稱", "拜訪日期", "拜訪方式", "拜訪目的", "拜訪紀要"]


def crm_rows() -> list[dict]:
    """A bank CRM visit log without row ids: its contact ids are derived from client data."""
    rows = []
    for i, (cid, name) in enumerate(zip(IDS[:4], NAMES, strict=True)):
        note = (f"與{name}洽談續貸，身分證{IDS[0]}，電話{PHONES[i % 2]}，"
                f"客戶號{cid}，預計 2026-05-20 撥款 500萬")
        rows.append(dict(zip(CRM_HEAD, ["A1", cid, name, f"2026/5/{4 + i} 10:00", "實地拜訪",
                                        "續貸", note], strict=True)))
    # quarantined rows still hold client data: an unmapped channel, a date that is not one
    rows.append(dict(zip(CRM_HEAD, ["A2", IDS[4], NAMES[0], "2026/5/9 10:00", "飛鴿傳書",
                                    "續貸", f"{NAMES[0]} {IDS[4]}"], strict=True)))
    rows.append(dict(zip(CRM_HEAD, ["A2", IDS[1], NAMES[1], "昨天", "實地拜訪", "續貸",
                                    f"{NAMES[1]}"], strict=True)))
    return rows


def canonical_rows() -> list[dict]:
    return [{"contact_id": f"K{i}", "manager_id": "B1", "client_id": cid, "client_name": name,
             "occurred_at": f"2026-05-{10 + i} 09:30", "channel": "visit", "purpose": "service",
             "notes": f"{name}（{cid}）來電 {PHONES[0]}"}
            for i, (cid, name) in enumerate(zip(IDS, [*NAMES, NAMES[0]], strict=True))]


def write_malformed(path: Path) -> Path:
    """A CSV line with one field too many: DuckDB rejects the whole line, client id and all."""
    text = ("contact_id,manager_id,client_id,occurred_at,channel,purpose,notes\r\n"
            f"M1,A1,{IDS[2]},2026-05-04 10:00,visit,service,ok\r\n"
            f"M2,A1,{IDS[3]},2026-05-04 11:00,visit,service,{NAMES[2]},extra\r\n")
    path.write_bytes(text.encode("cp950"))
    return path


def load_everything(settings, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_csv(inbox / "crm_utf8.csv", crm_rows())
    # the same visits from Taiwan's Windows: Big5 (cp950) is read through a converted copy
    write_csv(inbox / "crm_big5.csv", [dict(r, 拜訪日期=r["拜訪日期"].replace("10:00", "15:00"))
                                       for r in crm_rows()], encoding="cp950")
    write_malformed(inbox / "malformed_big5.csv")
    wb = openpyxl.Workbook()
    ws = wb.active
    rows = canonical_rows()
    ws.append(list(rows[0]))
    for r in rows:
        ws.append(list(r.values()))
    wb.save(inbox / "contacts.xlsx")
    results = load.load_paths(settings, sorted(inbox.iterdir()))
    assert all(r.error is None for r in results), [r.error for r in results]
    assert all(r.balanced for r in results)
    assert sum(r.landed for r in results) >= 10 and sum(r.quarantined for r in results) >= 3
    # a file no profile fits fails after it was converted; a load that breaks halfway too
    bad = write_csv(tmp_path / "unknown_big5.csv", [{"客戶名稱": NAMES[3], "身分證": IDS[0]}],
                    encoding="cp950")
    [r] = load.load_paths(settings, [bad])
    assert r.error
    rules = load_rules(settings.rules_path)
    with db.warehouse(settings.db_path) as con:
        score.score(con, rules)
        badges.award(con, rules)
    publish.publish(settings)


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def _cells(path: Path) -> list[str]:
    """Every text value of every table in a DuckDB file."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        out = []
        for schema, table, column in con.execute(
                "SELECT table_schema, table_name, column_name FROM information_schema.columns "
                "WHERE data_type IN ('VARCHAR', 'JSON') OR data_type LIKE 'VARCHAR[]%'"
                ).fetchall():
            out += [str(v) for (v,) in con.execute(
                f'SELECT DISTINCT CAST("{column}" AS VARCHAR) FROM "{schema}"."{table}" '
                f'WHERE "{column}" IS NOT NULL').fetchall()]
        return out
    finally:
        con.close()


def _databases(root: Path) -> list[Path]:
    return [p for p in _files(root) if p.suffix == ".duckdb"]


def _candidate_hashes(settings) -> set[str]:
    """What an unkeyed hash of a client id looks like, alone or with the visit's values that
    are stored in the clear next to it (manager, time, channel, purpose)."""
    visits = query(settings, "SELECT manager_id, CAST(occurred_at AS VARCHAR), channel, purpose "
                             "FROM client_contact")
    texts = list(IDS)
    for manager, at, channel, purpose in visits:
        for cid in IDS:
            for sep in ("|", ",", ":", ""):
                texts.append(sep.join([manager, cid, at, channel, purpose]))
    out = set()
    for text in texts:
        for algo in ("sha256", "sha1", "md5", "sha512", "blake2b"):
            out.add(hashlib.new(algo, text.encode("utf-8")).hexdigest())
    return out


@pytest.fixture
def loaded(roster_loaded, tmp_path):
    load_everything(roster_loaded, tmp_path)
    return roster_loaded


def test_no_file_under_the_data_directory_holds_a_client_name_or_id(loaded):
    files = _files(loaded.data_dir)
    assert any(p.suffix == ".duckdb" for p in files) and any("snapshot" in p.name for p in files)
    hits = []
    for path in files:
        data = path.read_bytes()
        for secret in SECRETS:
            for enc in ENCODINGS:
                if secret.encode(enc) in data:
                    hits.append((str(path.relative_to(loaded.data_dir)), secret, enc))
    for path in _databases(loaded.data_dir):
        for cell in _cells(path):
            hits += [(path.name, s, "cell") for s in SECRETS if s in cell]
    assert hits == []


def test_no_stored_value_is_an_unkeyed_hash_of_a_client_id(loaded):
    candidates = _candidate_hashes(loaded)
    hexes = set()
    for path in _databases(loaded.data_dir):
        for cell in _cells(path):
            for core in (cell, cell[1:]):
                if len(core) >= 12 and all(c in "0123456789abcdef" for c in core.lower()):
                    hexes.add(core.lower())
    assert hexes, "the warehouse holds keyed pseudonyms: the search must have seen them"
    recovered = [h for h in hexes if any(c.startswith(h) for c in candidates)]
    assert recovered == []


def test_derived_visit_ids_are_keyed_but_stable(loaded, tmp_path):
    ids = query(loaded, "SELECT contact_id FROM client_contact "
                        "WHERE NOT regexp_matches(contact_id, '^[KM][0-9]$')")
    assert len(ids) == 4 and all(i.startswith("k") for (i,) in ids)
    # (the Big5 export of the same window was replaced by the UTF-8 one, loaded after it)
    # the same visits loaded again from the same file: the same ids, nothing added
    before = query(loaded, "SELECT * FROM client_contact ORDER BY ALL")
    [r] = load.load_paths(loaded, [tmp_path / "inbox" / "crm_utf8.csv"], force=True)
    assert (r.error, r.landed, r.duplicates) == (None, 0, 4)
    assert query(loaded, "SELECT * FROM client_contact ORDER BY ALL") == before


def test_notes_are_kept_with_what_identifies_a_client_masked(loaded):
    notes = [n for (n,) in query(loaded, "SELECT notes FROM client_contact WHERE notes "
                                         "LIKE '%洽談續貸%' ORDER BY 1")]
    assert notes
    for note in notes:
        assert note.startswith(f"與{redact.MASK}洽談續貸，身分證{redact.MASK}，電話{redact.MASK}")
        assert "2026-05-20" in note and "500萬" in note   # dates and amounts stay


def test_a_load_leaves_no_copy_of_its_input_even_when_it_fails(roster_loaded, tmp_path,
                                                                 monkeypatch):
    cache = roster_loaded.cache_dir
    path = write_csv(tmp_path / "big5.csv", canonical_rows(), encoding="cp950")
    seen = []
    real = csv_source._write_utf8

    def spy(src, encoding, newlines, out):
        real(src, encoding, newlines, out)
        seen.append((stat.S_IMODE(out.stat().st_mode), stat.S_IMODE(out.parent.stat().st_mode)))

    monkeypatch.setattr(csv_source, "_write_utf8", spy)

    def boom(*a, **kw):
        raise RuntimeError("disk full")

    monkeypatch.setattr(load, "_land", boom)
    with pytest.raises(RuntimeError):
        load.load_paths(roster_loaded, [path])
    assert seen == [(0o600, 0o700)]         # the copy was private while it lived
    assert _files(cache) == []
    monkeypatch.undo()
    [r] = load.load_paths(roster_loaded, [path])
    assert (r.error, r.landed) == (None, 5)
    assert _files(cache) == []


def test_a_copy_left_by_a_killed_load_is_removed_by_the_next(roster_loaded, tmp_path):
    cache = roster_loaded.cache_dir
    cache.mkdir(parents=True, exist_ok=True)
    dead = cache / f"{csv_source.COPY_PREFIX}999999999-x"
    dead.mkdir()
    (dead / "input.csv").write_text(f"{NAMES[0]},{IDS[0]}", encoding="utf-8")
    (cache / "0123abcd.csv").write_text(NAMES[1], encoding="utf-8")   # an old cache copy
    mine = csv_source.private_dir(cache)                     # a load running right now
    load.load_paths(roster_loaded, [write_csv(tmp_path / "c.csv", canonical_rows())])
    assert sorted(p.name for p in cache.iterdir()) == [mine.name]
    os.rmdir(mine)


@pytest.mark.parametrize(("note", "want"), [
    ("身分證A123456789已核", "身分證＊＊＊已核"),
    ("居留證AB12345678", "居留證＊＊＊"),
    ("大陸身份證11010519491231002X", "大陸身份證＊＊＊"),
    ("手機0912-345-678或0912345678", "手機＊＊＊或＊＊＊"),
    ("市話(02)2345-6789、02 2345 6789", "市話＊＊＊、＊＊＊"),
    ("帳號 123-45-678901234", "帳號 123-45-＊＊＊"),
    ("寄到 wang.da@example.com.tw", "寄到 ＊＊＊"),
    ("2026-05-20 撥款 1,200,000 元，利率 2.15%", "2026-05-20 撥款 1,200,000 元，利率 2.15%"),
    ("拜訪 3 次，預計 500萬", "拜訪 3 次，預計 500萬"),
])
def test_identifiers_in_free_text_are_masked_and_nothing_else(note, want):
    con = duckdb.connect()
    assert con.execute(f"SELECT {redact.redacted_sql('?', [])}", [note, note]).fetchall() == [
        (want,)]
