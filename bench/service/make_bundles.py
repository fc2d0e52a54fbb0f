#!/usr/bin/env python3
"""Makes the service benchmark's inputs from a real bundle: copies of its tests
(new ids), as many as fit in 64 KiB and in 4 MiB of JSON. `run_id` is the first key, so
the load generator can give every request its own run (a fresh analysis and a
fresh record each time, not the stored-record replay)."""
import copy, json, sys

src, out_dir = sys.argv[1], sys.argv[2]
base = json.load(open(src))
for name, size in (("64k", 64 * 1024), ("4m", 4 * 1024 * 1024)):
    b = copy.deepcopy(base)
    templates = base["tests"]
    tests, i = [], 0
    while True:
        t = copy.deepcopy(templates[i % len(templates)])
        t["id"] = f"{t['id']} #{i}"
        tests.append(t)
        i += 1
        b["tests"] = tests
        if len(json.dumps(b, separators=(",", ":"))) > size:
            tests.pop()  # the largest bundle not over the size
            break
    s = b["summary"]
    s["tests"] = len(tests)
    s["failed"] = sum(t["status"] == "unexpected" for t in tests)
    s["flaky"] = sum(t["status"] == "flaky" for t in tests)
    s["passed"] = sum(t["status"] == "expected" for t in tests)
    s["skipped"] = sum(t["status"] == "skipped" for t in tests)
    s["attempts"] = sum(len(t["attempts"]) for t in tests)
    b["run"]["run_id"] = "RUNID"
    text = json.dumps(b, separators=(",", ":"))
    # Split around the run id placeholder: the Lua script puts a counter there.
    pre, post = text.split('"RUNID"', 1)
    open(f"{out_dir}/bundle-{name}.pre", "w").write(pre)
    open(f"{out_dir}/bundle-{name}.post", "w").write(post)
    print(f"bundle-{name}: {len(text)} bytes, {len(tests)} tests, {s['failed'] + s['flaky']} failures")
