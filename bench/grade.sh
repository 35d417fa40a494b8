#!/usr/bin/env bash
# Grading throughput, in MB/s, on a large synthetic serial log (a benchmark, not a test).
#
#   bench/grade.sh [SIZE_MB]      # default 200
#
# Builds the release binary, writes a log of ESP32-style debug chatter with the reference sketch's
# run around it, then times:
#   1. `espcheck grade LOG` (the grader alone, reading a file);
#   2. `espcheck watch /dev/pts/N --log …` with 64 MB pushed through a pty as fast as it takes it
#      (pty + grader + raw log).
set -euo pipefail
cd "$(dirname "$0")/.."

size_mb="${1:-200}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cargo build --release --quiet
bin="$PWD/target/release/espcheck"

python3 - "$work/big.log" "$size_mb" <<'EOF'
import sys
path, size = sys.argv[1], int(sys.argv[2]) * 1024 * 1024
head = (b"\r\nConnecting to sensor-net\r\n........\r\nWiFi connected\r\nIP address: \r\n192.168.1.9\r\n"
        b"Waiting for NTP time sync: ....\r\nCurrent time: Sat Mar  1 12:34:56 2025\r\n")
tail = (b"Connecting to api.github.com\r\nRequesting URL: /repos/esp8266/Arduino/commits/master/status\r\n"
        b"Request sent\r\nHeaders received\r\nesp8266/Arduino CI successful!\r\nReply was:\r\n==========\r\n"
        b"{\"state\":\"success\",\"statuses\":[]}\r\n==========\r\nClosing connection\r\n")
kinds = [b"[%9d][D][sensor.cpp:42] reading %08d: t=21.5C h=40%% heap=41234 rssi=-61\r\n",
         b"[%9d][I][app.cpp:17] loop %d ok\r\n",
         b"I (%d) wifi: rssi %d dBm, channel 6\r\n"]
with open(path, "wb") as f:
    f.write(head)
    n = written = 0
    chunk = []
    while written < size:
        n += 1
        line = kinds[n % 3] % (n, n)
        chunk.append(line)
        written += len(line)
        if len(chunk) == 10000:
            f.write(b"".join(chunk)); chunk = []
    f.write(b"".join(chunk))
    f.write(tail)
EOF

bytes=$(stat -c %s "$work/big.log")
start=$(date +%s.%N)
"$bin" grade "$work/big.log" --json >"$work/report.json"
end=$(date +%s.%N)
python3 - "$bytes" "$start" "$end" "$work/report.json" <<'EOF'
import json, sys
b, s, e = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
r = json.load(open(sys.argv[4]))
assert r["verdict"] == "pass", r
print(f"grade: {b/1e6:.1f} MB, {r['lines']} lines in {e-s:.2f} s = {b/1e6/(e-s):.1f} MB/s")
EOF

python3 - "$bin" "$work" <<'EOF'
import json, os, pty, subprocess, sys, time, tty
bin, work = sys.argv[1], sys.argv[2]
payload = bytearray(b"\r\nConnecting to sensor-net\r\n....\r\nWiFi connected\r\n")
n = 0
while len(payload) < 64 * 1024 * 1024:
    n += 1
    payload += b"[%9d][D][sensor.cpp:42] reading %08d: t=21.5C h=40%% heap=41234 rssi=-61\r\n" % (n, n)
payload += (b"Connecting to api.github.com\r\nRequest sent\r\nesp8266/Arduino CI successful!\r\n"
            b"Reply was:\r\n==========\r\n{\"state\":\"success\"}\r\n")
master, slave = pty.openpty()
tty.setraw(slave)
log = os.path.join(work, "pty.log")
p = subprocess.Popen([bin, "watch", os.ttyname(slave), "--json", "--quiet", "--log", log,
                      "--timeout", "5m"], stdout=subprocess.PIPE, pass_fds=())
start = time.time()
view = memoryview(payload)
while view:
    k = os.write(master, view[:65536])
    view = view[k:]
out, _ = p.communicate(timeout=300)
elapsed = time.time() - start
r = json.loads(out)
assert r["verdict"] == "pass" and os.path.getsize(log) == len(payload), (r["verdict"], os.path.getsize(log))
print(f"watch over a pty: {len(payload)/1e6:.1f} MB in {elapsed:.2f} s = {len(payload)/1e6/elapsed:.1f} MB/s (log complete)")
os.close(master); os.close(slave)
EOF
