#!/usr/bin/python3
"""tests/fuzz/corpus/h2/make_seeds.py: writes fuzz_h2's seed inputs, valid client sessions made with python3-h2 and hyperframe.

Run under Debian's /usr/bin/python3 (python3-h2, python3-hyperframe):
    /usr/bin/python3 tests/fuzz/corpus/h2/make_seeds.py
Each seed is fuzz_h2's flags byte, its piece-size byte (0: everything at
once, n: pieces of 4n bytes), then what the client sends after the
connection preface, which fuzz_h2 prepends when FL_PREFACE is set. The paths are those of fuzz_h2's site.
"""
import os

import h2.config
import h2.connection
from hyperframe.frame import (ContinuationFrame, DataFrame, GoAwayFrame, HeadersFrame, PingFrame,
                              SettingsFrame, WindowUpdateFrame)

# fuzz_h2.c's flags
FL_PREFACE, FL_FIN, FL_RETIRE = 1, 2, 4
END_FAST, END_GRACEFUL, END_TIMER, END_CLIENT_CLOSE = 0, 1 << 3, 2 << 3, 3 << 3
FL_SMALLBUF, FL_STALL, FL_DENIED = 32, 64, 128
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

HERE = os.path.dirname(os.path.abspath(__file__))


class Client:
    """A python3-h2 client whose output is collected, with raw frames
    (hyperframe) where h2 would refuse to make them."""

    def __init__(self, ack=True):
        self.c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True,
                                                                      header_encoding="utf-8"))
        self.c.initiate_connection()
        out = self.c.data_to_send()
        assert out.startswith(PREFACE)
        self.out = bytearray(out[len(PREFACE):])  # fuzz_h2 adds the preface
        if ack:
            # the server's SETTINGS, as if read: h2 then sends the ACK, and
            # the server's limits (8 streams at once) hold from then on
            self.c.receive_data(SettingsFrame(0).serialize())
            self.flush()

    def flush(self):
        self.out += self.c.data_to_send()

    def get(self, path, method="GET", host="a.test", extra=(), end=True):
        sid = self.c.get_next_available_stream_id()
        hdrs = [(":method", method), (":scheme", "http"), (":authority", host), (":path", path)]
        self.c.send_headers(sid, hdrs + list(extra), end_stream=end)
        self.flush()
        return sid

    def raw(self, frame):
        self.out += frame.serialize()

    def raw_request(self, sid, fields):
        """A whole request in one HEADERS frame, fields as given (h2 checks
        them and would refuse some)."""
        self.raw(HeadersFrame(sid, self.c.encoder.encode(fields), flags=["END_HEADERS", "END_STREAM"]))


def write(name, flags, body, piece=0):
    data = bytes([flags, piece]) + bytes(body)
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)


def main():
    c = Client()
    c.get("/")
    write("get_index", FL_PREFACE, c.out)

    c = Client()
    c.get("/index.html", method="HEAD")
    write("head", FL_PREFACE, c.out)

    c = Client()
    c.get("/big.bin", extra=[("range", "bytes=100-199")])
    c.get("/big.bin", extra=[("range", "bytes=0-9,1000-1099,-5")])
    c.get("/index.html", extra=[("range", "bytes=500-")])  # 416
    write("ranges", FL_PREFACE, c.out)

    # several streams across every kind of rule (at most 8 at once: past
    # the acknowledged limit nghttp2 ends the connection), then room to
    # send it all
    paths = ["/", "/q/small.txt", "/q/big.bin", "/sub/", "/r/x?y=1", "/t/z?a=b", "/spa/deep", "/al/x.txt"]
    c = Client()
    for p in paths:
        c.get(p)
    c.c.increment_flow_control_window(1 << 24)
    c.flush()
    write("streams", FL_PREFACE, c.out)
    write("streams_pieces", FL_PREFACE, c.out, piece=2)
    write("streams_smallbuf_graceful", FL_PREFACE | FL_SMALLBUF | END_GRACEFUL, c.out)
    write("streams_fin", FL_PREFACE | FL_FIN, c.out)
    c = Client()
    for p in ["/missing", "/.env", "/h", "/al/", "/spa/"]:
        c.get(p)
    c.get("/app.js", extra=[("accept-encoding", "gzip, br")])
    c.get("/sub/", host="b.test")
    # the last: h2 no longer knows of the streams raw frames open
    c.raw_request(17, [(":method", "GET"), (":scheme", "http"), (":authority", "c.test"), (":path", "/"),
                       ("host", "d.test")])  # Host against :authority: 400
    write("streams_more", FL_PREFACE, c.out)
    write("streams_more_denied", FL_PREFACE | FL_DENIED, c.out)

    # a large file: windows opened for the stream and the connection, a PING
    c = Client()
    sid = c.get("/big.bin")
    c.c.increment_flow_control_window(200000)
    c.c.increment_flow_control_window(200000, stream_id=sid)
    c.c.ping(b"12345678")
    c.flush()
    write("window_ping", FL_PREFACE, c.out)
    write("window_ping_smallbuf_timer", FL_PREFACE | FL_SMALLBUF | END_TIMER, c.out)
    # a client that reads nothing: output waits when the connection ends by
    # a fast close, by the send timeout, or gracefully (then it reads)
    write("window_ping_stall", FL_PREFACE | FL_SMALLBUF | FL_STALL, c.out)
    write("window_ping_stall_timer", FL_PREFACE | FL_SMALLBUF | FL_STALL | END_TIMER, c.out)
    write("window_ping_stall_graceful", FL_PREFACE | FL_SMALLBUF | FL_STALL | END_GRACEFUL, c.out)

    # a stream reset while its file is read on the write queue, then another
    c = Client()
    sid = c.get("/q/big.bin")
    c.c.reset_stream(sid)
    c.flush()
    c.get("/q/small.txt")
    write("rst_stream", FL_PREFACE, c.out)

    # the client goes away after its request
    c = Client()
    c.get("/index.html")
    c.c.close_connection()
    c.flush()
    write("goaway", FL_PREFACE | END_CLIENT_CLOSE, c.out)

    # a retiring worker: its notice and PING come first; the PING's answer
    # (nghttp2 sends eight zero bytes) lets it send the final GOAWAY
    c = Client()
    c.get("/sub/x.txt")
    c.raw(PingFrame(0, b"\0" * 8, flags=["ACK"]))
    write("retire_ping_ack", FL_PREFACE | FL_RETIRE, c.out)

    # a request with a body the server does not read
    c = Client()
    sid = c.get("/t/post", method="POST", extra=[("content-length", "10")], end=False)
    c.c.send_data(sid, b"0123456789", end_stream=True)
    c.flush()
    write("post_body", FL_PREFACE, c.out)

    # header fields split over HEADERS and CONTINUATION
    c = Client()
    block = c.c.encoder.encode([(":method", "GET"), (":scheme", "http"), (":authority", "a.test"),
                                (":path", "/index.html"), ("user-agent", "seed"), ("referer", "http://a.test/")])
    c.raw(HeadersFrame(1, block[:10], flags=["END_STREAM"]))
    c.raw(ContinuationFrame(1, block[10:], flags=["END_HEADERS"]))
    write("continuation", FL_PREFACE, c.out)

    # more streams than http2_max_concurrent_streams (8) before the client
    # has acknowledged the limit: nghttp2 refuses the rest
    c = Client(ack=False)
    for i in range(12):
        c.get("/q/small.txt?%d" % i)
    write("refused_unacked", FL_PREFACE, c.out)

    # streams reset while their file is read on the write queue still hold
    # their slot: the ninth stream is refused by the server's own count
    c = Client()
    for i in range(8):
        c.c.reset_stream(c.get("/q/big.bin?%d" % i))
        c.flush()
    c.get("/q/small.txt")
    write("refused_reset_slots", FL_PREFACE, c.out)

    # a header list over http2_max_header_list_size (4k): 431
    c = Client()
    c.get("/", extra=[("x-big", "v" * 3000), ("x-big2", "w" * 2000)])
    write("header_list_431", FL_PREFACE, c.out)

    # raw frames h2 would not make: DATA on a closed stream, a stream-0 RST
    c = Client()
    c.get("/")
    c.raw(DataFrame(1, b"late"))
    c.out += bytes([0, 0, 4, 3, 0, 0, 0, 0, 0, 0, 0, 0, 1])  # RST_STREAM on stream 0
    c.raw(WindowUpdateFrame(0, 0))
    c.raw(GoAwayFrame(0, last_stream_id=1))
    write("protocol_errors", FL_PREFACE, c.out)

    # requests h2 would not make: Host equal to :authority, no :authority
    # and no Host (400), 100 fields and the Host that :authority adds (431),
    # a path so long that the logged request line does not fit (414)
    c = Client()
    base = [(":method", "GET"), (":scheme", "http"), (":path", "/index.html")]
    c.raw_request(1, base + [(":authority", "a.test"), ("host", "a.test")])
    c.raw_request(3, base)
    c.raw_request(5, base + [(":authority", "a.test")] + [("x-%d" % i, "v") for i in range(100)])
    c.raw_request(7, [(":method", "GET"), (":scheme", "http"), (":authority", "a.test"), (":path", "/" + "p" * 2500)])
    write("odd_requests", FL_PREFACE, c.out)

    # floods nghttp2 answers: PINGs whose ACKs a client that reads nothing
    # lets pile up (nghttp2 gives up on the session), HEADERS each reset at
    # once (Rapid Reset), endless CONTINUATION frames
    c = Client()
    for i in range(1200):
        c.raw(PingFrame(0, i.to_bytes(8, "big")))
    write("ping_flood_stall", FL_PREFACE | FL_SMALLBUF | FL_STALL, c.out)
    c = Client()
    for i in range(1100):
        c.c.reset_stream(c.get("/h"))
    c.flush()
    write("rapid_reset", FL_PREFACE, c.out)
    c = Client()
    block = c.c.encoder.encode(base + [(":authority", "a.test")])
    c.raw(HeadersFrame(1, block, flags=["END_STREAM"]))
    for i in range(20):
        c.raw(ContinuationFrame(1, c.c.encoder.encode([("x-c%d" % i, "v")])))
    write("continuation_flood", FL_PREFACE, c.out)

    # the same port speaks HTTP/1.1 to a client without the preface
    write("http1", 0, b"GET /index.html HTTP/1.1\r\nHost: a.test\r\n\r\n")


if __name__ == "__main__":
    main()
