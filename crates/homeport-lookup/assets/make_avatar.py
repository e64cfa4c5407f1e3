#!/usr/bin/env python3
"""Writes avatar-instance1.png: the 128x128 avatar the mock's instance1 serves for test@instance1.com.

Kept beside the PNG so the picture can be remade without an image library: a blue disc with a white "T",
edges smoothed by 4x4 supersampling, transparent outside the disc. Run: python3 make_avatar.py
"""
import os
import struct
import zlib

SIZE = 128
SAMPLES = 4
BLUE = (0x00, 0x82, 0xC9)
WHITE = (0xFF, 0xFF, 0xFF)


def inside_disc(x, y):
    c = SIZE / 2
    return (x - c) ** 2 + (y - c) ** 2 <= (SIZE / 2 - 1) ** 2


def inside_t(x, y):
    bar = 36 <= x <= 92 and 34 <= y <= 48
    stem = 57 <= x <= 71 and 34 <= y <= 94
    return bar or stem


def pixel(px, py):
    disc = letter = 0
    for sy in range(SAMPLES):
        for sx in range(SAMPLES):
            x = px + (sx + 0.5) / SAMPLES
            y = py + (sy + 0.5) / SAMPLES
            if inside_disc(x, y):
                disc += 1
                if inside_t(x, y):
                    letter += 1
    total = SAMPLES * SAMPLES
    if disc == 0:
        return (0, 0, 0, 0)
    mix = letter / disc
    rgb = tuple(round(b * (1 - mix) + w * mix) for b, w in zip(BLUE, WHITE))
    return rgb + (round(255 * disc / total),)


def chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


rows = b"".join(b"\x00" + bytes(v for px in range(SIZE) for v in pixel(px, py)) for py in range(SIZE))
png = (
    b"\x89PNG\r\n\x1a\n"
    + chunk(b"IHDR", struct.pack(">IIBBBBB", SIZE, SIZE, 8, 6, 0, 0, 0))
    + chunk(b"IDAT", zlib.compress(rows, 9))
    + chunk(b"IEND", b"")
)
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "avatar-instance1.png")
with open(out, "wb") as f:
    f.write(png)
print(out, len(png), "bytes")
