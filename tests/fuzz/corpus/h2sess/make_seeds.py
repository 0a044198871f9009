#!/usr/bin/python3
"""Seeds for fuzz_h2sess: a knob byte, then pieces (a size byte: 1 + b % 64
bytes follow) of a client's frames after the preface."""
import os
import struct

import hpack


def frame(t, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([t, flags]) + struct.pack(">I", sid) + payload


def pieces(knob, data, size=40):
    out = bytes([knob])
    for i in range(0, len(data), size):
        chunk = data[i:i + size]
        out += bytes([len(chunk) - 1]) + chunk
    return out


enc = hpack.Encoder()
get = [(":method", "GET"), (":scheme", "http"), (":path", "/a"), (":authority", "x")]
frames = frame(4, 0, 0) + frame(4, 1, 0)
for sid in (1, 3, 5, 7):
    frames += frame(1, 5, sid, enc.encode(get))
frames += frame(8, 0, 0, struct.pack(">I", 100000)) + frame(6, 0, 0, b"12345678")
frames += frame(3, 0, 3, struct.pack(">I", 8)) + frame(1, 4, 9, enc.encode(get)) + frame(0, 1, 9, b"body")
here = os.path.dirname(os.path.abspath(__file__))
for name, knob, size in (("requests", 0, 40), ("cut_small", 3, 5), ("deferred", 1, 64)):
    with open(os.path.join(here, name), "wb") as f:
        f.write(pieces(knob, frames, size))
