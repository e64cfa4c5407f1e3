#!/usr/bin/env python3
"""Did a window draw something? Reads an X window dump (`xwd -id WINDOW`), with no image library.

    screenshot.py DUMP.xwd [OUT.png]

Prints the image's size and how many distinct colours it has, writes it as PNG when OUT.png is
given (CI keeps target/e2e-screenshots/), and exits 0 when the window holds more than a handful
of colours: a window that mapped but never painted its page is one flat colour (or two, with a
frame). Exit 1 otherwise. Called by tests/packaging/deb.sh, which repeats it until the page is
drawn (or a generous bound against hangs passes).
"""

import struct
import sys
import zlib

# A real page has text, buttons and a diagram: hundreds of colours (anti-aliased text alone gives
# dozens). A blank or half-initialised window has one or two.
ENOUGH_COLOURS = 16


def read_xwd(path):
    data = open(path, "rb").read()
    order = ">" if struct.unpack(">I", data[4:8])[0] == 7 else "<"
    fields = struct.unpack(order + "25I", data[:100])
    (header_size, version, pixmap_format, depth, width, height, _xoffset, byte_order, _unit, _bit_order,
     _pad, bits_per_pixel, bytes_per_line, _visual, red_mask, green_mask, blue_mask, _bits_per_rgb,
     _entries, ncolors) = fields[:20]
    if version != 7 or pixmap_format != 2 or bits_per_pixel not in (24, 32):
        raise SystemExit(f"{path}: not a 24/32-bit ZPixmap XWD file (version {version}, "
                         f"format {pixmap_format}, {bits_per_pixel} bits per pixel, depth {depth})")
    start = header_size + ncolors * 12
    step = bits_per_pixel // 8
    endian = "little" if byte_order == 0 else "big"

    def shift(mask):
        return (mask & -mask).bit_length() - 1

    shifts = [(mask, shift(mask)) for mask in (red_mask, green_mask, blue_mask)]
    rows = []
    for y in range(height):
        line = data[start + y * bytes_per_line : start + y * bytes_per_line + width * step]
        row = bytearray()
        for x in range(0, len(line), step):
            pixel = int.from_bytes(line[x : x + step], endian)
            row += bytes((pixel & mask) >> s for mask, s in shifts)
        rows.append(bytes(row))
    return width, height, rows


def write_png(path, width, height, rows):
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    raw = b"".join(b"\x00" + row for row in rows)
    with open(path, "wb") as out:
        out.write(b"\x89PNG\r\n\x1a\n")
        out.write(chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)))
        out.write(chunk(b"IDAT", zlib.compress(raw, 6)))
        out.write(chunk(b"IEND", b""))


def main():
    if len(sys.argv) not in (2, 3):
        print("usage: screenshot.py DUMP.xwd [OUT.png]", file=sys.stderr)
        return 2
    width, height, rows = read_xwd(sys.argv[1])
    colours = set()
    for row in rows:
        colours.update(row[i : i + 3] for i in range(0, len(row), 3))
        if len(colours) > ENOUGH_COLOURS * 64:
            break
    if len(sys.argv) == 3:
        write_png(sys.argv[2], width, height, rows)
    drawn = len(colours) > ENOUGH_COLOURS
    print(f"{width}x{height}, {len(colours)}{'+' if len(colours) > ENOUGH_COLOURS * 64 else ''} colours: "
          f"{'drawn' if drawn else 'not drawn (flat)'}")
    return 0 if drawn else 1


if __name__ == "__main__":
    sys.exit(main())
