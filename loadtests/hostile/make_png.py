#!/usr/bin/env python3
"""Writes test PNGs without any imaging library: `noise W H out.png` (8-bit grey noise, barely compressible)
or `text-chunk MEGABYTES out.png` (a 512x512 grey image carrying a tEXt chunk of that many megabytes)."""
import os, struct, sys, zlib

def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

def png(width, height, rows, extra=b""):
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    raw = b"".join(b"\x00" + row for row in rows)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + extra + chunk(b"IDAT", zlib.compress(raw, 1)) + chunk(b"IEND", b"")

if sys.argv[1] == "noise":
    w, h = int(sys.argv[2]), int(sys.argv[3])
    data = png(w, h, (os.urandom(w) for _ in range(h)))
    out = sys.argv[4]
else:
    megabytes = float(sys.argv[2])
    text = b"Comment\x00" + b"x" * int(megabytes * 1024 * 1024)
    data = png(512, 512, (bytes([i % 256]) * 512 for i in range(512)), chunk(b"tEXt", text))
    out = sys.argv[3]
with open(out, "wb") as f:
    f.write(data)
print(f"{out}: {len(data) / 1e6:.1f} MB")
