#!/usr/bin/env bash
# Render a hackwatch HTML report in headless Chromium (no network) and save a screenshot, to check
# by eye that the figures render. Usage:
#   benchmarks/check_report_render.sh RUN_DIR_OR_REPORT_HTML [SCREENSHOT.png]
# RUN_DIR: the report is (re)written with `hackwatch report RUN_DIR` first.
# Needs Debian's chromium (`apt-get install -y chromium`). Exit 0 when the screenshot was written.
set -euo pipefail
target=${1:?usage: check_report_render.sh RUN_DIR_OR_REPORT_HTML [SCREENSHOT.png]}
shot=${2:-report_screenshot.png}
browser=$(command -v chromium || command -v chromium-browser || true)
if [[ -z "$browser" ]]; then
  echo "chromium not found: apt-get install -y chromium" >&2
  exit 3
fi
if [[ -d "$target" ]]; then
  hackwatch report "$target" --out "$target/report.html" >/dev/null
  html="$target/report.html"
else
  html="$target"
fi
html=$(realpath "$html")
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
# --virtual-time-budget lets layout finish; every image is inlined, so nothing is fetched.
timeout 120 "$browser" --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --user-data-dir="$profile" --hide-scrollbars \
  --virtual-time-budget=5000 --screenshot="$(realpath -m "$shot")" --window-size=1200,2000 "file://$html" \
  >/dev/null 2>&1 || true
if [[ ! -s "$shot" ]]; then
  echo "no screenshot written for $html" >&2
  exit 1
fi
echo "screenshot: $shot ($(stat -c %s "$shot") bytes) of $html"
