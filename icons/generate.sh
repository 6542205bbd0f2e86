#!/usr/bin/env bash
# Draws the Promptdesk application icon with ImageMagick 6 and writes every size Tauri uses.
# Nothing is downloaded. Run from anywhere: ./icons/generate.sh
#
# Design: a rounded square in a deep indigo-to-violet gradient carrying a white speech bubble;
# inside the bubble, two short "lines of prompt text" and a teal caret.
# The master is drawn at 1024 px and scaled down, so the small sizes stay smooth.
set -euo pipefail
cd "$(dirname "$0")"

# Call ImageMagick by an unambiguous name (IM 7: magick; Debian's IM 6: convert-im6.q16), since
# another program named convert may come first on PATH.
IM=${IM_CONVERT:-$(command -v magick || command -v convert-im6.q16 || true)}
[ -n "$IM" ] || { echo "generate.sh: ImageMagick not found (apt-get install imagemagick)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

S=1024
# Background: gradient clipped to a rounded square with a small margin (macOS/GNOME style).
"$IM" -size ${S}x${S} gradient:'#4f46e5'-'#7c3aed' -rotate 0 "$tmp/grad.png"
"$IM" -size ${S}x${S} xc:none -fill white -draw "roundrectangle 40,40 983,983 200,200" "$tmp/mask.png"
"$IM" "$tmp/grad.png" "$tmp/mask.png" -alpha off -compose CopyOpacity -composite "$tmp/bg.png"

# Speech bubble: a rounded rectangle plus a tail at the lower left.
"$IM" -size ${S}x${S} xc:none \
  -fill white \
  -draw "roundrectangle 200,230 824,700 110,110" \
  -draw "polygon 300,660 300,840 470,690" \
  "$tmp/bubble.png"

# Prompt lines and caret inside the bubble.
"$IM" -size ${S}x${S} xc:none \
  -fill '#4f46e5' \
  -draw "roundrectangle 300,355 640,410 27,27" \
  -draw "roundrectangle 300,505 540,560 27,27" \
  -fill '#14b8a6' \
  -draw "roundrectangle 575,490 620,575 18,18" \
  "$tmp/text.png"

"$IM" "$tmp/bg.png" "$tmp/bubble.png" -compose Over -composite \
  "$tmp/text.png" -compose Over -composite "$tmp/master.png"

out() { "$IM" "$tmp/master.png" -filter Lanczos -resize "$1x$1" -strip "PNG32:$2"; }
out 512 icon.png
out 256 128x128@2x.png
out 128 128x128.png
out 32 32x32.png
# Windows resource icon (only needed when building for Windows; harmless elsewhere).
"$IM" "$tmp/master.png" -filter Lanczos -define icon:auto-resize=256,128,64,48,32,16 -depth 8 -strip icon.ico
echo "icons written: $(ls *.png icon.ico | tr '\n' ' ')"
