/* The communication sites of a town on a small Leaflet map. The data comes from the
 * json_script element named by the map's data-sites-map attribute; the table beside it lists
 * every place (the map holds only those whose location the viewer may see). Markers are built
 * from DOM nodes and text, never from an HTML string. */
(function () {
  "use strict";

  var el = document.querySelector("[data-sites-map]");
  if (!el || typeof L === "undefined") {
    return;
  }
  // In a folded section the map's box has no size yet: draw it when the section opens.
  var fold = el.closest("details:not([open])");
  if (fold) {
    fold.addEventListener("toggle", function draw() {
      if (!fold.open) { return; }
      fold.removeEventListener("toggle", draw);
      drawMap(el);
    });
  } else {
    drawMap(el);
  }

  function drawMap(el) {
    var sites = JSON.parse(document.getElementById(el.dataset.sitesMap).textContent);
    var centre = [parseFloat(el.dataset.lat), parseFloat(el.dataset.lon)];
    var map = L.map(el, { zoomSnap: 0.5, attributionControl: false }).setView(centre, 14);
    // Open to independent activity: green, partly: orange, not: grey (told in the popup too).
    var COLOURS = { yes: "#009E73", partly: "#E69F00", no: "#777777" };
    var bounds = [];

    sites.forEach(function (site) {
      var marker = L.circleMarker([site.lat, site.lon], {
        radius: site.dialogue ? 9 : 7,
        color: "#222",
        weight: site.dialogue ? 3 : 1,
        fillColor: COLOURS[site.openness] || "#777777",
        fillOpacity: 0.9
      }).addTo(map);
      var box = document.createElement("div");
      var name = document.createElement("strong");
      name.textContent = site.name;
      box.appendChild(name);
      [site.kind, site.operator, site.open].forEach(function (text) {
        box.appendChild(document.createElement("br"));
        box.appendChild(document.createTextNode(text));
      });
      marker.bindPopup(box);
      marker.bindTooltip(site.name);
      bounds.push([site.lat, site.lon]);
    });
    if (bounds.length > 1) {
      // Without animation: the map is ready (and its markers still) when data-ready is set.
      map.fitBounds(bounds, { padding: [20, 20], maxZoom: 16, animate: false });
    }
    el.setAttribute("data-ready", String(sites.length));
  }
})();
