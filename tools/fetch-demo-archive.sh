#!/usr/bin/env bash
# Rebuilds resources/demo/ from Debian packages (run as root where apt reaches Debian's mirrors).
# The demo scenes are test rasters that Debian ships, so Kestrel may redistribute them; their
# licences are copied beside them from the packages' copyright files.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
apt-get download libterralib-doc r-cran-stars
for deb in *.deb; do dpkg-deb -x "$deb" x; done
out="$root/resources/demo"
mkdir -p "$out/licences"
cp x/usr/share/doc/libterralib-dev/examples/image_processing/resources/cbers_rgb342_crop1.tif "$out/"
cp x/usr/lib/R/site-library/stars/tif/L7_ETMs.tif "$out/"
cp x/usr/share/doc/libterralib-doc/copyright "$out/licences/libterralib-doc.copyright"
cp x/usr/share/doc/r-cran-stars/copyright "$out/licences/r-cran-stars.copyright"
ls -la "$out"
