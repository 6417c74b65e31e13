#!/usr/bin/env bash
# Raspberry Pi OS check, emulated: installs the wheel built from this checkout into Debian Bookworm
# root filesystems (what Raspberry Pi OS Bookworm is built on) for arm64 (64-bit Pi OS) and armhf
# (32-bit Pi OS), run under qemu-user, the way the README tells a Pi user to, and checks the answers:
#   predict on the reference photos, `doctor --json` ready, `run --save` on a folder of frames,
#   `bench` writing its report.
# Emulation checks correctness, never speed. Needs root (debootstrap, chroot, binfmt_misc) and
# Debian's debootstrap + qemu-user-static (installed with apt-get when missing).
#
#   bash tools/pi_os_test.sh               # both architectures
#   PI_OS_ARCHES=arm64 bash tools/pi_os_test.sh
#
# The root filesystems are cached under ~/.cache/edgevision/pi-os (PI_OS_CACHE), so a second run
# only makes a fresh venv and installs the wheel and its dependencies into it. The Debian mirror is read from
# this machine's apt sources and pip's configuration (pip.conf, PIP_* variables) is handed to the
# chroot, so the chroot reaches the same registries the same way. binfmt_misc is left as found.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
reference="${EDGEVISION_REFERENCE:-$repo/../shared/reference}"
cache="${PI_OS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/edgevision/pi-os}"
arches="${PI_OS_ARCHES:-arm64 armhf}"
suite=bookworm

say() { echo "pi_os_test: $*" >&2; }
die() { say "$*"; exit 2; }

[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot and binfmt_misc): run it with sudo"
[ -f "$reference/mobilenet_v2_1.0_224_quant.tflite" ] \
  || die "no reference models in $reference: put shared/reference beside the checkout or set EDGEVISION_REFERENCE"

if ! command -v debootstrap >/dev/null || [ ! -x /usr/bin/qemu-aarch64-static ] || [ ! -x /usr/bin/qemu-arm-static ]; then
  say "installing debootstrap and qemu-user-static with apt-get"
  apt-get install -y -q debootstrap qemu-user-static >/dev/null \
    || { apt-get update -q >/dev/null && apt-get install -y -q debootstrap qemu-user-static >/dev/null; } \
    || die "apt-get install debootstrap qemu-user-static failed"
fi

# --- the Debian mirror, from this machine's apt sources ---------------------------------------
debian_mirror() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    # deb822 stanzas: the URI of the first stanza whose Suites name the release (not -security).
    awk -v suite="$suite" '
      /^[[:space:]]*$/ { if (uri != "" && ok) { print uri; exit } uri=""; ok=0; next }
      tolower($1) == "uris:" { uri=$2 }
      tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == suite) ok=1 }
      END { if (uri != "" && ok) print uri }' "$f" | head -n1
  done
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
    | awk -v suite="$suite" '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { if ($(i+1) == suite) print $i; break } }' || true
}
mirror="${PI_OS_MIRROR:-$(debian_mirror | head -n1 || true)}"
[ -n "$mirror" ] || die "no Debian $suite mirror in /etc/apt/sources.list*: set PI_OS_MIRROR"

# --- binfmt_misc: register what is missing, undo exactly that on exit --------------------------
binfmt=/proc/sys/fs/binfmt_misc
mounted_binfmt=0
registered=()
mounts=()
work=""
unmount_all() {
  local i
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do umount -l "${mounts[$i]}" 2>/dev/null || true; done
  mounts=()
}
cleanup() {
  local m
  unmount_all
  for m in "${registered[@]}"; do [ -e "$binfmt/$m" ] && echo -1 >"$binfmt/$m"; done
  # unmounted only when mounted here and nobody registered anything else meanwhile
  if [ "$mounted_binfmt" -eq 1 ] && [ -z "$(ls "$binfmt" | grep -v -x -e register -e status)" ]; then
    umount "$binfmt" 2>/dev/null || true
  fi
  [ -n "$work" ] && rm -rf "$work"
}
trap cleanup EXIT
if [ ! -e "$binfmt/register" ]; then
  mount -t binfmt_misc binfmt_misc "$binfmt" || die "cannot mount binfmt_misc on $binfmt"
  mounted_binfmt=1
fi
register() {  # name, Debian's binfmt description file
  # An entry of this run's own (newest entries match first), removed on exit: an existing qemu entry
  # or a concurrent run stays untouched.
  local name="$1" spec="/usr/share/binfmts/$2" interp magic mask
  [ -f "$spec" ] || die "$spec missing: apt-get install --reinstall qemu-user-static"
  interp="$(awk '$1 == "interpreter" { print $2 }' "$spec")"
  magic="$(awk '$1 == "magic" { print $2 }' "$spec")"
  mask="$(awk '$1 == "mask" { print $2 }' "$spec")"
  # F: the kernel opens the (static) interpreter now, so the chroot needs no copy of it.
  echo ":$name:M:0:$magic:$mask:$interp:FP" >"$binfmt/register" || die "cannot register $name in binfmt_misc"
  registered+=("$name")
}
register "edgevision-pi-os-$$-aarch64" qemu-aarch64
register "edgevision-pi-os-$$-arm" qemu-arm

mount_in() {  # bind source onto target inside a root filesystem, unmounted on exit
  local src="$1" dst="$2"; shift 2
  mount "$@" "$src" "$dst"
  mounts+=("$dst")
}

# --- the wheel a user would get ----------------------------------------------------------------
work="$(mktemp -d)"
say "building the wheel from $repo"
# from a copy of the files git knows (committed or not), so no stale build/ of an earlier build leaks in
mkdir -p "$work/src"
git -C "$repo" ls-files -z --cached --others --exclude-standard | (cd "$repo" && tar --null --ignore-failed-read -T - -cf - 2>/dev/null) | tar -xf - -C "$work/src"
"${PYTHON:-python3}" -m pip wheel -q --no-deps --no-build-isolation -w "$work/dist" "$work/src" >&2 \
  || die "pip wheel $repo failed"
wheel="$(ls "$work"/dist/edgevision-*.whl)"

# --- root filesystems --------------------------------------------------------------------------
apt_packages() {  # what the README tells a user of that Pi OS to apt install (plus the bare minimum)
  case "$1" in
    arm64) echo "python3 python3-venv ca-certificates" ;;
    armhf) echo "python3 python3-venv ca-certificates python3-numpy python3-opencv" ;;
  esac
}

build_rootfs() {
  local arch="$1" root="$2" packages
  packages="$(apt_packages "$arch")"
  # nothing of a killed earlier run may stay mounted in there (the reference files, /proc)
  awk -v r="$root/" 'index($2, r) == 1 { print $2 }' /proc/mounts | sort -r | xargs -r -n1 umount -l
  rm -rf --one-file-system "$root"
  mkdir -p "$root"
  say "$arch: debootstrap $suite from $mirror (first stage)"
  debootstrap --foreign --arch="$arch" --variant=minbase "$suite" "$root" "$mirror" >"$root.log" 2>&1 \
    || { tail -n 20 "$root.log" >&2; die "$arch: debootstrap first stage failed (log: $root.log)"; }
  say "$arch: debootstrap second stage (emulated)"
  chroot "$root" /debootstrap/debootstrap --second-stage >>"$root.log" 2>&1 \
    || { tail -n 20 "$root.log" >&2; die "$arch: debootstrap second stage failed (log: $root.log)"; }
  echo "deb $mirror $suite main" >"$root/etc/apt/sources.list"
  echo force-unsafe-io >"$root/etc/dpkg/dpkg.cfg.d/unsafe-io"  # no fsync per file: a throw-away system
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  mount_in /proc "$root/proc" -t proc
  say "$arch: apt-get install $packages"
  chroot "$root" env DEBIAN_FRONTEND=noninteractive sh -c \
    "apt-get update -q && apt-get install -y -q --no-install-recommends $packages && apt-get clean" >>"$root.log" 2>&1 \
    || { tail -n 20 "$root.log" >&2; die "$arch: apt-get install in the chroot failed (log: $root.log)"; }
  umount -l "$root/proc"; unset 'mounts[${#mounts[@]}-1]'
  chroot "$root" useradd --create-home --uid 1000 --shell /bin/bash pi
  echo "$packages" >"$root/.edgevision-rootfs"
}

copy_pip_config() {  # this machine's pip configuration, so the chroot reaches the registries the same way
  local root="$1" f cert
  for f in /etc/pip.conf /etc/xdg/pip/pip.conf /etc/xdg/pip/constraints.txt; do
    if [ -f "$f" ]; then install -D -m 644 "$f" "$root$f"; fi
  done
  # A certificate bundle pip is told to use must be there too.
  cert="${PIP_CERT:-$("${PYTHON:-python3}" -m pip config get global.cert 2>/dev/null || true)}"
  if [ -n "$cert" ] && [ -f "$cert" ]; then install -D -m 644 "$cert" "$root$cert"; fi
}

cpuinfo() {  # a Raspberry Pi 4's (Cortex-A72): qemu-user shows the guest the host's x86 /proc/cpuinfo, on
  # which the CPU detection inside LiteRT and ONNX Runtime crashes
  local arch="$1" n
  for n in 0 1 2 3; do
    if [ "$arch" = arm64 ]; then
      printf 'processor\t: %s\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32 cpuid\n' "$n"
      printf 'CPU implementer\t: 0x41\nCPU architecture: 8\n'
    else
      printf 'processor\t: %s\nmodel name\t: ARMv7 Processor rev 3 (v7l)\nBogoMIPS\t: 108.00\n' "$n"
      printf 'Features\t: half thumb fastmult vfp edsp neon vfpv3 tls vfpv4 idiva idivt vfpd32 lpae evtstrm crc32\n'
      printf 'CPU implementer\t: 0x41\nCPU architecture: 7\n'
    fi
    printf 'CPU variant\t: 0x0\nCPU part\t: 0xd08\nCPU revision\t: 3\n\n'
  done
  printf 'Hardware\t: BCM2835\nRevision\t: c03111\n'
}

# --- what a Pi user types, per architecture ---------------------------------------------------------
user_script() {
  local arch="$1" venv_flags=""
  [ "$arch" = armhf ] && venv_flags="--system-site-packages"  # numpy and OpenCV from the OS (apt)
  cat <<SCRIPT
set -eu
cd /home/pi/work
python3 -m venv $venv_flags ~/edgevision-venv
. ~/edgevision-venv/bin/activate
python -m pip install $(basename "$wheel")
ref=/home/pi/reference
edgevision predict \$ref/mobilenet_v2_1.0_224_quant.tflite \$ref/cat.bmp \$ref/parrot.jpg --json >predict_v2.json
edgevision predict \$ref/mobilenet_v1_0.25_128_quant.tflite \$ref/parrot.jpg --json >predict_v1.json
edgevision doctor --json >doctor.json
edgevision run --model \$ref/mobilenet_v2_1.0_224_quant.tflite --source frames --save run.mp4 --json >run.json
edgevision bench \$ref/mobilenet_v2_1.0_224_quant.tflite --report bench --threads 1 --runs 3 --warmup 1 --json >bench_stdout.json
SCRIPT
  if [ "$arch" = arm64 ]; then
    # tflite-runtime beside NumPy 2 imports but cannot run: doctor must call it broken, not ok
    cat <<SCRIPT
python -m pip install tflite-runtime
edgevision doctor --json >doctor_tflite_runtime.json || true
SCRIPT
  fi
}

frames() {  # a folder of 640x360 frames panning over the reference 720p photo
  "${PYTHON:-python3}" - "$1" "$reference/cat_720p.jpg" <<'PY'
import sys
from pathlib import Path

import cv2

out, photo = Path(sys.argv[1]), cv2.imread(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
for i in range(6):
    cv2.imwrite(str(out / f"frame_{i:02d}.jpg"), cv2.resize(photo[:, i * 64: i * 64 + 960], (640, 360)))
PY
}

check_answers() {  # arch, work folder: the answers a Pi user must see
  "${PYTHON:-python3}" - "$1" "$2" <<'PY'
import json
import sys
from pathlib import Path

import cv2

arch, work = sys.argv[1], Path(sys.argv[2])
failures = []


def expect(condition, what):
    print(f"pi_os_test: {arch}: {'ok  ' if condition else 'FAIL'} {what}", file=sys.stderr)
    if not condition:
        failures.append(what)


def top1(doc, i):
    best = doc["results"][i]["top_k"][0]
    return best["index"], best["label"], best["score"]


v2 = json.loads((work / "predict_v2.json").read_text())
v1 = json.loads((work / "predict_v1.json").read_text())
index, label, score = top1(v2, 0)
expect((index, label) == (286, "Egyptian cat") and score > 0.6, f"MobileNetV2 cat.bmp -> {index} {label} {score:.3f}")
index, label, score = top1(v2, 1)
expect((index, label) == (89, "macaw") and score > 0.9, f"MobileNetV2 parrot.jpg -> {index} {label} {score:.3f}")
index, label, score = top1(v1, 0)
expect((index, label) == (89, "macaw"), f"MobileNetV1 0.25 parrot.jpg -> {index} {label} {score:.3f}")

doctor = json.loads((work / "doctor.json").read_text())
runtimes = {r["name"]: r for r in doctor["runtimes"]}
want = ["ai-edge-litert", "onnxruntime"] if arch == "arm64" else ["tflite-runtime"]
expect(doctor["ok"] and doctor["working_runtimes"] == want and runtimes["opencv"]["runs"],
       f"doctor ready, the test model ran on {', '.join(doctor['working_runtimes']) or 'nothing'} (want {', '.join(want)})")
expect(all(fix.split()[0] in ("python", "sudo") for fix in doctor["fixes"]), f"doctor fixes {doctor['fixes']}")

run = json.loads((work / "run.json").read_text())
video = cv2.VideoCapture(str(work / "run.mp4"))
frames = int(video.get(cv2.CAP_PROP_FRAME_COUNT)) if video.isOpened() else 0
expect(run["frames"] == 6 and frames == 6, f"run --save wrote run.mp4 with {frames} frames (summary: {run['frames']})")

bench = json.loads((work / "bench" / "bench.json").read_text())
machine = bench["device"].get("architecture")
written = sorted(p.name for p in (work / "bench").iterdir())
expect(len(bench["results"]) == 1 and machine == {"arm64": "aarch64", "armhf": "armv7l"}[arch]
       and {"bench.json", "bench.csv", "bench.md"} <= set(written),
       f"bench on {machine} wrote {', '.join(written)}")

if arch == "arm64":
    doc = json.loads((work / "doctor_tflite_runtime.json").read_text())
    row = next(r for r in doc["runtimes"] if r["name"] == "tflite-runtime")
    expect(row["available"] and row["runs"] is False and "NumPy 1.x" in (row["note"] or "") and doc["ok"],
           f"tflite-runtime beside NumPy 2 reported broken: {row['note']}")
sys.exit(1 if failures else 0)
PY
}

run_arch() {  # arch: build or reuse the root filesystem, install as a Pi user, check the answers
  local arch="$1" root="$cache/$suite-$arch" start=$SECONDS home pipenv=() v
  trap unmount_all EXIT  # run in a subshell of its own: its mounts go with it
  if [ "$(cat "$root/.edgevision-rootfs" 2>/dev/null)" != "$(apt_packages "$arch")" ]; then
    build_rootfs "$arch" "$root"
    say "$arch: root filesystem ready in $((SECONDS - start)) s ($root)"
  fi
  home="$root/home/pi"
  rm -rf "$home/work" "$home/edgevision-venv" "$home/.cache" && mkdir -p "$home/work" "$home/reference"
  cp "$wheel" "$home/work/"
  frames "$home/work/frames"
  chown -R 1000:1000 "$home/work"
  copy_pip_config "$root"
  cpuinfo "$arch" >"$root/.cpuinfo"
  mount_in /proc "$root/proc" -t proc
  mount_in "$root/.cpuinfo" "$root/proc/cpuinfo" --bind
  mount_in sysfs "$root/sys" -t sysfs -o ro
  mount_in tmpfs "$root/dev/shm" -t tmpfs
  mount_in "$reference" "$home/reference" --bind -o ro
  for v in $(compgen -e | grep '^PIP_' || true); do pipenv+=("$v=${!v}"); done
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  user_script "$arch" >"$home/work/pi_user.sh"
  say "$arch: installing $(basename "$wheel") as user pi and running predict, doctor, run, bench (emulated)"
  local rc=0
  chroot --userspec=1000:1000 "$root" /usr/bin/env -i HOME=/home/pi USER=pi PATH=/usr/local/bin:/usr/bin:/bin \
    LANG=C.UTF-8 "${pipenv[@]}" bash /home/pi/work/pi_user.sh >"$home/work/log.txt" 2>&1 || rc=$?
  if [ "$rc" -ne 0 ]; then
    tail -n 30 "$home/work/log.txt" >&2
    say "$arch: FAILED: a Pi user's command exited $rc (log: $home/work/log.txt)"
    return 1
  fi
  check_answers "$arch" "$home/work" || { say "$arch: FAILED (log: $home/work/log.txt)"; return 1; }
  say "$arch: passed in $((SECONDS - start)) s"
}

# The architectures run side by side (emulation is mostly one busy core each); each line says which.
mkdir -p "$cache"
pids=()
for arch in $arches; do
  run_arch "$arch" &
  pids+=("$!")
done
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
[ "$failed" -eq 0 ] && say "passed: $arches" || say "FAILED (see above)"
exit "$failed"
