"""Free text about clients is stored redacted: what identifies a client is masked on the way in.

Visit and activity notes are typed by people, and people write the client's name, national id,
phone number or account number into them. The warehouse keeps the note (a team lead may need
what was discussed) without those: each row's own client name and client id, wherever they
appear in its notes, and anything shaped like an identifier, whoever it belongs to.
"""
from __future__ import annotations

MASK = "＊＊＊"
# What an identifier looks like in a Taiwanese or mainland note (RE2 syntax, as DuckDB runs it):
# a Taiwanese national id or resident certificate (A123456789, AB12345678), a mainland resident
# id, any run of eight or more digits (accounts, cards, mobiles written without spaces), phone
# numbers written in groups (0912-345-678, 02 2345 6789, (02)2345-6789), e-mail addresses.
# A date (2026-05-04) or an amount (500萬, 1,200,000 is kept: digits in groups of three after
# a comma are not a phone) is not one of them.
IDENTIFIER_PATTERN = "|".join((
    r"\b[A-Za-z][A-Da-d1289]\d{8}\b",
    r"\d{17}[\dXx]",
    r"\d{8,}",
    r"\(0\d{1,3}\)\s?\d{3,4}[\s-]?\d{3,4}",
    r"\b0\d{1,3}[\s-]\d{3,4}[\s-]\d{3,4}\b",
    r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+",
))
# Headers of a column holding the client's name, in any script, case or width. Such a column
# is never stored; its value is masked in the same row's notes. A profile adds its own with
# `client_names = [...]`.
CLIENT_NAME_HEADERS = ("客戶名稱", "客戶姓名", "客戶名", "客戶", "戶名", "姓名", "公司名稱",
                       "企業名稱", "聯絡人", "client_name", "customer_name")
MIN_EXACT = 2   # a client's own value shorter than this (one character) is not masked alone


def redacted_sql(expr: str, exact: list[str]) -> str:
    """SQL for text `expr` with identifiers masked, and each of the SQL text expressions
    `exact` (the row's client name, its raw client id) wherever it appears. Needs no
    parameters: the pattern is a constant of this module."""
    out = f"regexp_replace({expr}, '{IDENTIFIER_PATTERN}', '{MASK}', 'g')"
    for value in exact:
        out = (f"CASE WHEN length({value}) >= {MIN_EXACT} THEN replace({out}, {value}, "
               f"'{MASK}') ELSE {out} END")
    return f"CASE WHEN {expr} IS NULL THEN NULL ELSE {out} END"
