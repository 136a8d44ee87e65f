#!/usr/bin/env bash
# Refresh the vendored front-end libraries from the npm registry at the pinned versions below,
# and pre-convert Belarus's outline from Natural Earth (world-atlas TopoJSON) to GeoJSON.
# Usage (from the repository root): bash static/vendor/refresh.sh   (needs npm and node)
set -euo pipefail
VENDOR="$(cd "$(dirname "$0")" && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

LEAFLET=1.9.4
MARKERCLUSTER=1.5.3
CHARTJS=4.4.7
CYTOSCAPE=3.30.4
WORLD_ATLAS=2.0.2
TOPOJSON_CLIENT=3.1.0

fetch() {  # fetch <package> <version>: unpack the npm tarball into $WORK/<package>
  (cd "$WORK" && npm pack --silent "$1@$2" >/dev/null)
  mkdir -p "$WORK/$1"
  tar xzf "$WORK/${1//\//-}-$2.tgz" -C "$WORK/$1" --strip-components=1
}

fetch leaflet "$LEAFLET"
fetch leaflet.markercluster "$MARKERCLUSTER"
fetch chart.js "$CHARTJS"
fetch cytoscape "$CYTOSCAPE"
fetch world-atlas "$WORLD_ATLAS"
fetch topojson-client "$TOPOJSON_CLIENT"

rm -rf "$VENDOR"/leaflet-* "$VENDOR"/leaflet.markercluster-* "$VENDOR"/chartjs-* \
  "$VENDOR"/cytoscape-* "$VENDOR"/world-atlas-*

d="$VENDOR/leaflet-$LEAFLET"; mkdir -p "$d/images"
cp "$WORK/leaflet/dist/leaflet.js" "$WORK/leaflet/dist/leaflet.js.map" "$WORK/leaflet/dist/leaflet.css" "$WORK/leaflet/LICENSE" "$d/"
cp "$WORK/leaflet/dist/images/"*.png "$d/images/"

d="$VENDOR/leaflet.markercluster-$MARKERCLUSTER"; mkdir -p "$d"
cp "$WORK/leaflet.markercluster/dist/leaflet.markercluster.js" \
  "$WORK/leaflet.markercluster/dist/leaflet.markercluster.js.map" \
  "$WORK/leaflet.markercluster/dist/MarkerCluster.css" \
  "$WORK/leaflet.markercluster/dist/MarkerCluster.Default.css" \
  "$WORK/leaflet.markercluster/MIT-LICENCE.txt" "$d/"

d="$VENDOR/chartjs-$CHARTJS"; mkdir -p "$d"
# The source maps come along: the manifest storage of collectstatic rewrites their references.
cp "$WORK/chart.js/dist/chart.umd.js" "$WORK/chart.js/dist/chart.umd.js.map" "$WORK/chart.js/LICENSE.md" "$d/"

d="$VENDOR/cytoscape-$CYTOSCAPE"; mkdir -p "$d"
cp "$WORK/cytoscape/dist/cytoscape.min.js" "$WORK/cytoscape/LICENSE" "$d/"

# Natural Earth 1:50m country outline of Belarus (ISO 3166 numeric 112), converted once with
# topojson-client so that the browser loads a small GeoJSON file and no converter.
d="$VENDOR/world-atlas-$WORLD_ATLAS"; mkdir -p "$d"
cp "$WORK/world-atlas/LICENSE" "$d/"
NODE_PATH="$WORK" node -e '
const topojson = require("topojson-client");
const world = require(process.argv[1]);
const all = topojson.feature(world, world.objects.countries);
const by = all.features.filter((f) => String(f.id) === "112");
if (by.length !== 1) { throw new Error("Belarus (112) not found in world-atlas"); }
const round = (c) => (typeof c[0] === "number" ? c.map((x) => Math.round(x * 1e4) / 1e4) : c.map(round));
by[0].geometry.coordinates = round(by[0].geometry.coordinates);
process.stdout.write(JSON.stringify({ type: "FeatureCollection", features: by }));
' "$WORK/world-atlas/countries-50m.json" > "$d/belarus-50m.geojson"

echo "vendored into $VENDOR"
