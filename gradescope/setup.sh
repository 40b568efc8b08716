#!/usr/bin/env bash
# Gradescope image build (INSTRUCTORS.md §4). Gradescope's default base image is Ubuntu 22.04,
# whose python3 is 3.10; the course needs 3.11-3.14. This script uses the image's python3 when
# it is supported (e.g. the Ubuntu 24.04 base image: 3.12) and otherwise installs a Python 3.12
# managed by uv (from PyPI), so it works on either image. Then: a venv with the course's
# runtime dependencies at the tested versions (requirements.txt as constraints; CPU-only torch
# keeps the image small) and bubblewrap for the grader's sandbox.
#   AUTOGRADER_ROOT (default /autograder), COURSE_VENV (default /opt/course);
#   SETUP_DRY_RUN=1 prints the commands instead of running them (tests/test_gradescope.py).
set -euo pipefail
ROOT=${AUTOGRADER_ROOT:-/autograder}
SOURCE="$ROOT/source"
VENV=${COURSE_VENV:-/opt/course}
CPU_INDEX=https://download.pytorch.org/whl/cpu
run() { if [ "${SETUP_DRY_RUN:-0}" = 1 ]; then echo "would run: $*"; else "$@"; fi; }

# "3.12" for a working interpreter, "" for none.
version_of() { "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || true; }
supported() { case "$1" in 3.11|3.12|3.13|3.14) return 0 ;; *) return 1 ;; esac; }

run apt-get update
run apt-get install -y --no-install-recommends python3 python3-venv python3-pip bubblewrap ca-certificates
SYSTEM=$(version_of python3)
if supported "$SYSTEM"; then
  echo "setup: the image's python3 is $SYSTEM (supported): using it"
  run python3 -m venv "$VENV"
else
  echo "setup: the image's python3 is ${SYSTEM:-missing}; the course needs 3.11-3.14: installing Python 3.12 with uv"
  run python3 -m pip install --quiet uv
  run python3 -m uv python install 3.12
  run python3 -m uv venv --seed --python 3.12 "$VENV"
fi
run "$VENV/bin/python" -m pip install --quiet --upgrade pip
run "$VENV/bin/python" -m pip install --quiet --extra-index-url "$CPU_INDEX" \
    -c "$SOURCE/requirements.txt" "$SOURCE"
run "$VENV/bin/recsys-course" doctor --grader --notebooks "$SOURCE/notebooks" || true
