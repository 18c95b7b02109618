#!/usr/bin/env python3
"""Console-socket receiver for the integration tests (like runc's tests/cmd/recvtty).

    recvtty.py <socket path> <out prefix> [<go file>]

Listens on an AF_UNIX stream socket at <socket path>, then writes <out prefix>.listening.
With <go file>, it waits until that file exists and then accepts WITHOUT blocking: the
connection and its message must already be queued, i.e. sent before `create` exited
(containerd's shim only starts receiving after create returned).

It checks the protocol as go-runc's recvFd does and writes <out prefix>.meta:
    messages=<number of sendmsg'd messages on the connection>
    cmsgs=<control messages in the first one>
    fds=<file descriptors in it>
    name=<its data>
    isatty=<1 if the fd is a terminal>
    ptmx=<1 if it is a pty master (TIOCGPTN works)>
then copies everything read from the master to <out prefix>.tty until the slave side is
closed everywhere (EIO) or it is killed.
"""
import array
import fcntl
import os
import socket
import struct
import sys
import time

TIOCGPTN = 0x80045430


def main():
    path, prefix = sys.argv[1], sys.argv[2]
    go = sys.argv[3] if len(sys.argv) > 3 else None
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    open(prefix + ".listening", "w").close()

    if go:
        while not os.path.exists(go):
            time.sleep(0.02)
        srv.setblocking(False)
        try:
            conn, _ = srv.accept()
        except BlockingIOError:
            write_meta(prefix, {"error": "no connection queued when create had exited"})
            return 1
    else:
        conn, _ = srv.accept()
    conn.setblocking(True)

    fd_size = array.array("i").itemsize
    data, ancdata, flags, _ = conn.recvmsg(4096, socket.CMSG_SPACE(8 * fd_size))
    fds = []
    cmsgs = 0
    for level, kind, payload in ancdata:
        cmsgs += 1
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            arr = array.array("i")
            arr.frombytes(payload[: len(payload) - (len(payload) % fd_size)])
            fds.extend(arr)
    messages = 1 if data or ancdata else 0
    # Anything more on the connection is another message (the protocol allows one).
    while True:
        more = conn.recv(4096)
        if not more:
            break
        messages += 1
    conn.close()

    meta = {
        "messages": messages,
        "cmsgs": cmsgs,
        "fds": len(fds),
        "name": data.decode(errors="replace"),
        "truncated": int(bool(flags & (socket.MSG_CTRUNC | socket.MSG_TRUNC))),
    }
    master = fds[0] if fds else -1
    meta["isatty"] = int(master >= 0 and os.isatty(master))
    try:
        fcntl.ioctl(master, TIOCGPTN, struct.pack("I", 0))
        meta["ptmx"] = 1
    except OSError:
        meta["ptmx"] = 0
    for extra in fds[1:]:
        os.close(extra)
    write_meta(prefix, meta)
    if master < 0:
        return 1

    # Raw-ish copy of what the VMM writes on its console.
    with open(prefix + ".tty", "ab", buffering=0) as out:
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: no slave left open
                break
            if not chunk:
                break
            out.write(chunk)
    return 0


def write_meta(prefix, meta):
    tmp = prefix + ".meta.tmp"
    with open(tmp, "w") as f:
        for k, v in meta.items():
            f.write(f"{k}={v}\n")
    os.rename(tmp, prefix + ".meta")


if __name__ == "__main__":
    sys.exit(main())
