#!/usr/bin/env python3
"""A small app: C extension modules (sqlite3, hashlib, zlib, json) at work."""
import hashlib
import json
import sqlite3
import zlib

db = sqlite3.connect(":memory:")
db.execute("create table fruit(name text, n int)")
db.executemany("insert into fruit values (?, ?)", [("apple", 3), ("pear", 5)])
total = db.execute("select sum(n) from fruit").fetchone()[0]
print(json.dumps({
    "fruit": total,
    "sha256": hashlib.sha256(b"scratch").hexdigest()[:16],
    "zlib": len(zlib.compress(b"x" * 1000)),
}, sort_keys=True))
