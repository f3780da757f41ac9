#!/usr/bin/env python3
"""A stand-in for the docker CLI where no container daemon runs (as on CI machines).

`info` answers; `run [--rm] [--name N] [-v HOST:CTR[:ro]] [-e K=V] [--user U] IMAGE CMD...` runs
CMD on this machine with every mounted container path replaced by its host folder, so what a
ContainerTask stages and reads back is exercised for real; `rm` succeeds. Each call appends its
arguments to $FAKE_CONTAINER_LOG when set.
"""
import os, subprocess, sys
args = sys.argv[1:]
if os.environ.get("FAKE_CONTAINER_LOG"):
    with open(os.environ["FAKE_CONTAINER_LOG"], "a") as log:
        log.write(" ".join(args) + "\n")
if args[:1] == ["info"]:
    sys.exit(0)
if args[:1] == ["rm"]:
    sys.exit(0)
assert args[0] == "run", args
i, mounts, env = 1, [], dict(os.environ)
while args[i].startswith("-"):
    flag = args[i]
    if flag == "--rm":
        i += 1
        continue
    val = args[i + 1]
    if flag == "-v":
        host, inside = val.split(":")[:2]
        mounts.append((inside, host))
    elif flag == "-e":
        k, v = val.split("=", 1)
        env[k] = v
    i += 2
image, cmd = args[i], args[i + 1:]
def mapped(s):
    for inside, host in sorted(mounts, key=lambda m: -len(m[0])):
        s = s.replace(inside, host)
    return s
sys.exit(subprocess.run([mapped(c) for c in cmd], env=env).returncode)
