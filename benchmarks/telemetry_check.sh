#!/bin/bash
# No telemetry from OpenVINO/NNCF (README, "--backend"): build the 600-paper sample with auto
# (ov-int8) from a cold cache and an empty HOME (1) under strace, listing every connect() the
# build makes, and (2) under `unshare -n` (no network at all), cold and warm.
#   bash benchmarks/telemetry_check.sh            (PY=path/to/python to choose the interpreter)
set -u
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
T=$(mktemp -d /tmp/topicmap-telemetry.XXXX)
mkdir -p "$T/home"
echo "== strace build (cold cache, empty HOME)"
HOME=$T/home strace -f -qq -e trace=connect -o "$T/strace.txt" \
  "$PY" -m pipeline build sample/papers.csv --out "$T/map" --cache-dir "$T/cache" -q
echo "rc=$?"
echo "connect() calls: $(grep -c 'connect(' "$T/strace.txt")"
echo "to the network (AF_INET/AF_INET6):"; grep 'connect(' "$T/strace.txt" | grep -v AF_UNIX
echo "local sockets:"; grep 'connect(' "$T/strace.txt" | grep -o 'sun_path="[^"]*"' | sort | uniq -c
echo "HOME after the build: $(find "$T/home" -mindepth 1 | tr '\n' ' ')(empty if nothing listed)"
echo "== unshare -n, warm quantised model, cold embedding cache"
rm -rf "$T/cache/embeddings"
HOME=$T/home unshare -n "$PY" -m pipeline build sample/papers.csv --out "$T/map2" --cache-dir "$T/cache" -q
echo "rc=$?"
echo "== unshare -n, everything cold"
HOME=$T/home unshare -n "$PY" -m pipeline build sample/papers.csv --out "$T/map3" --cache-dir "$T/cache3" -q
echo "rc=$?"
rm -rf "$T"
