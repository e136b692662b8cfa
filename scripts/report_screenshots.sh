#!/bin/sh
# Render every kind of HTML report and screenshot each in headless Chromium at 1400 and
# 900 px wide into docs/screenshots/ (JPEG, trimmed to the page). Needs a debug build
# (`cargo build`), chromium (`apt-get install -y chromium`) and python3 with PIL
# (`apt-get install -y python3-pil`). Runs offline on the bundled datasets.
#
#   scripts/report_screenshots.sh
set -eu
cd "$(dirname "$0")/.."
BIN=${ALGOLAB_BIN:-target/debug/algolab}
OUT=docs/screenshots
WORK=$(mktemp -d)
export DATA_DIR="$WORK/data"
mkdir -p "$OUT" "$DATA_DIR"

q() { "$BIN" "$@" --quiet >/dev/null; }
q backtest --symbol GOOG --param fast=10 --param slow=20 --from 2010-01-01 --report "$WORK/backtest-goog"
q backtest --symbol SPY --strategy technical --fractional --from 2018-01-01 --report "$WORK/backtest-spy-technical"
q backtest --symbol BTC/USDT --leverage 5 --report "$WORK/backtest-btc-leverage"
q optimize --symbol GOOG --grid fast=5..30:5 --grid slow=20..100:10 --walk-forward 3 --report "$WORK/optimize-goog"
q evolve --symbol GOOG --population 20 --generations 5 --report "$WORK/evolve-goog"

shot() { # html, name, width
    profile=$(mktemp -d)
    timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
        --disable-component-update --disable-sync --no-first-run --user-data-dir="$profile" \
        --hide-scrollbars --virtual-time-budget=5000 --window-size="$3,7000" \
        --screenshot="$WORK/$2-$3.png" "file://$1" 2>/dev/null
    rm -rf "$profile"
    /usr/bin/python3 - "$WORK/$2-$3.png" "$OUT/$2-$3.jpg" <<'EOF'
import sys
from PIL import Image, ImageChops
im = Image.open(sys.argv[1]).convert("RGB")
bg = Image.new("RGB", im.size, im.getpixel((im.width - 1, im.height - 1)))
box = ImageChops.difference(im, bg).getbbox()
if box:
    im = im.crop((0, 0, im.width, min(im.height, box[3] + 16)))
im.save(sys.argv[2], quality=60, optimize=True)
EOF
}
for w in 1400 900; do
    shot "$WORK/backtest-goog/report.html" backtest-goog "$w"
    shot "$WORK/backtest-spy-technical/report.html" backtest-spy-technical "$w"
    shot "$WORK/backtest-btc-leverage/report.html" backtest-btc-leverage "$w"
    shot "$WORK/optimize-goog/optimize.html" optimize-goog "$w"
    shot "$WORK/evolve-goog/evolve.html" evolve-goog "$w"
done
ls -l "$WORK"/*/report.html "$WORK"/*/optimize.html "$WORK"/*/evolve.html | awk '{print $5, $9}'
rm -rf "$WORK"
ls -l "$OUT"
