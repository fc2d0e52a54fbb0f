#!/usr/bin/env python3
"""Time from exec to the first answered GET /healthz, over N starts: the median
and the spread. The service builds its state (store, compiled rules) before it
listens, so this is the whole cold start of the process."""
import os, socket, statistics, subprocess, sys, time

binary, store, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
times = []
for i in range(runs):
    sock = socket.socket(); sock.bind(("127.0.0.1", 0)); port = sock.getsockname()[1]; sock.close()
    t0 = time.perf_counter()
    p = subprocess.Popen([binary, "serve", "--addr", f"127.0.0.1:{port}", "--store", store],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         env={**os.environ, "CI_MEDIC_LOG": "warn"})
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as c:
                c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if c.recv(16).startswith(b"HTTP/1.1 200"):
                    break
        except OSError:
            time.sleep(0.0002)
    times.append((time.perf_counter() - t0) * 1000)
    p.terminate(); p.wait()
print(f'JSON {{"runs": {runs}, "median_ms": {statistics.median(times):.1f}, "min_ms": {min(times):.1f}, "max_ms": {max(times):.1f}}}')
