/* The towns map: Leaflet markers coloured by typology and sized by population, clustered when
 * zoomed out, filtered together with the sortable list beside it. The data comes from a
 * json_script element named by the map's data-map attribute; the filters live in the form
 * marked data-map-filters and in the URL, so that a filtered view can be shared. */
(function () {
  "use strict";

  var mapEl = document.querySelector("[data-map]");
  if (!mapEl || typeof L === "undefined") {
    return;
  }
  var data = JSON.parse(document.getElementById(mapEl.dataset.map).textContent);
  var form = document.querySelector("[data-map-filters]");
  var list = document.querySelector("[data-town-list]");
  var countEl = document.querySelector("[data-count]");

  // maxZoom is set here because the clusters need it and there may be no tile layer to give it.
  var map = L.map(mapEl, { zoomSnap: 0.25, minZoom: 5, maxZoom: 14 }).setView([53.7, 27.9], 6);
  if (data.tiles && data.tiles.url) {
    L.tileLayer(data.tiles.url, { attribution: data.tiles.attribution, maxZoom: 18 }).addTo(map);
  }
  // The base map works offline: the country outline is a static file of this site.
  fetch(data.outline)
    .then(function (r) { return r.json(); })
    .then(function (outline) {
      var layer = L.geoJSON(outline, {
        interactive: false,
        style: { color: "#444", weight: 1.5, fillColor: "#f3f1ea", fillOpacity: 1 }
      }).addTo(map);
      layer.bringToBack();
      map.fitBounds(layer.getBounds(), { padding: [10, 10] });
    })
    .catch(function () { /* the markers still show without the outline */ });

  // A cluster shows its count on a ring split by the typology colours of its towns, so the
  // colours keep one meaning on the whole map.
  function clusterIcon(cluster) {
    var children = cluster.getAllChildMarkers();
    var counts = {};
    children.forEach(function (m) { counts[m.town.colour] = (counts[m.town.colour] || 0) + 1; });
    var stops = [];
    var at = 0;
    Object.keys(counts).forEach(function (colour) {
      var next = at + (counts[colour] / children.length) * 360;
      stops.push(colour + " " + at + "deg " + next + "deg");
      at = next;
    });
    var size = children.length < 10 ? 30 : children.length < 50 ? 36 : 44;
    var icon = L.divIcon({
      html: "<div><span></span></div>",
      className: "marker-cluster town-cluster",
      iconSize: L.point(size, size)
    });
    icon.createIcon = function (old) {
      var el = L.DivIcon.prototype.createIcon.call(this, old);
      el.style.background = "conic-gradient(" + stops.join(", ") + ")";
      el.querySelector("span").textContent = String(children.length);
      el.setAttribute("aria-label", String(children.length));
      return el;
    };
    return icon;
  }

  var clusters = L.markerClusterGroup({
    maxClusterRadius: 40,
    disableClusteringAtZoom: 10,
    showCoverageOnHover: false,
    iconCreateFunction: clusterIcon
  });
  map.addLayer(clusters);

  function radius(population) {
    // Area proportional to the population, within readable bounds.
    if (!population) { return 4; }
    return Math.max(4, Math.min(22, Math.sqrt(population) / 22));
  }

  function text(tag, value, attrs) {
    var el = document.createElement(tag);
    el.textContent = value;
    Object.keys(attrs || {}).forEach(function (k) { el.setAttribute(k, attrs[k]); });
    return el;
  }

  function popup(town) {
    var box = document.createElement("div");
    var link = text("a", town.name, { href: town.url });
    box.appendChild(link);
    box.appendChild(text("div", data.labels.typology + ": " + town.typology_label));
    box.appendChild(text("div", data.labels.population + ": " +
      (town.population ? town.population.toLocaleString() : data.labels.unknown)));
    if (town.value !== null && town.value !== undefined) {
      box.appendChild(text("div", data.labels.value + ": " + town.value.toLocaleString()));
    }
    return box;
  }

  var markers = data.towns.map(function (town) {
    var marker = L.circleMarker([town.lat, town.lon], {
      radius: radius(town.population),
      color: "#222",
      weight: 1,
      fillColor: town.colour,
      fillOpacity: 0.85
    });
    marker.bindPopup(function () { return popup(town); });
    marker.bindTooltip(town.name);
    marker.town = town;
    return marker;
  });

  function filters() {
    if (!form) { return {}; }
    var get = function (name) {
      var el = form.elements[name];
      return el ? el.value : "";
    };
    var threshold = parseFloat(String(get("threshold")).replace(",", "."));
    return {
      q: get("q"),
      region: get("region"),
      kind: get("kind"),
      typology: get("typology"),
      cso: form.elements.cso ? form.elements.cso.checked : false,
      indicator: get("indicator"),
      op: get("op") || "gte",
      threshold: isNaN(threshold) ? null : threshold,
      order: get("order") || "name"
    };
  }

  // The same rules as towns.views.MapFilters.keep.
  function keep(town, f) {
    if (!town.match) { return false; }
    if (f.region && town.region !== f.region) { return false; }
    if (f.kind && town.kind !== f.kind) { return false; }
    if (f.typology && town.typology !== f.typology) { return false; }
    if (f.cso && !town.cso) { return false; }
    if (f.indicator && f.threshold !== null) {
      if (town.value === null || town.value === undefined) { return false; }
      return f.op === "lte" ? town.value <= f.threshold : town.value >= f.threshold;
    }
    return true;
  }

  var sorters = {
    name: function (a, b) { return a.name.localeCompare(b.name); },
    region: function (a, b) { return a.region_name.localeCompare(b.region_name) || a.name.localeCompare(b.name); },
    typology: function (a, b) { return a.typology_label.localeCompare(b.typology_label) || a.name.localeCompare(b.name); },
    population: function (a, b) { return (a.population || 0) - (b.population || 0); },
    value: function (a, b) { return (a.value === null ? -Infinity : a.value) - (b.value === null ? -Infinity : b.value); }
  };
  var sort = { key: "name", dir: 1 };
  var initialOrder = filters().order;
  if (initialOrder === "-population") { sort = { key: "population", dir: -1 }; }
  if (initialOrder === "population") { sort = { key: "population", dir: 1 }; }

  function renderList(towns) {
    if (!list) { return; }
    var body = list.tBodies[0];
    var withValue = list.querySelector("th[data-sort=value]") !== null;
    var rows = towns.slice().sort(function (a, b) { return sort.dir * sorters[sort.key](a, b); });
    var fragment = document.createDocumentFragment();
    rows.forEach(function (town) {
      var tr = document.createElement("tr");
      var name = document.createElement("td");
      name.appendChild(text("a", town.name, { href: town.url }));
      tr.appendChild(name);
      tr.appendChild(text("td", town.region_name));
      var type = document.createElement("td");
      var swatch = text("span", "", { "class": "swatch", "aria-hidden": "true" });
      swatch.style.background = town.colour;
      type.appendChild(swatch);
      type.appendChild(document.createTextNode(town.typology_label));
      tr.appendChild(type);
      tr.appendChild(text("td", town.population ? town.population.toLocaleString() : "—", { "class": "num" }));
      if (withValue) {
        tr.appendChild(text("td", town.value === null ? "—" : town.value.toLocaleString(), { "class": "num" }));
      }
      fragment.appendChild(tr);
    });
    body.replaceChildren(fragment);
    list.querySelectorAll("th[data-sort]").forEach(function (th) {
      th.setAttribute("aria-sort", th.dataset.sort === sort.key ? (sort.dir > 0 ? "ascending" : "descending") : "none");
    });
  }

  function updateUrl(f) {
    var params = new URLSearchParams();
    ["q", "region", "kind", "typology", "indicator"].forEach(function (k) { if (f[k]) { params.set(k, f[k]); } });
    if (f.cso) { params.set("cso", "yes"); }
    if (f.indicator && f.threshold !== null) {
      params.set("op", f.op);
      params.set("threshold", String(f.threshold));
    }
    if (sort.key === "population") { params.set("order", sort.dir > 0 ? "population" : "-population"); }
    var qs = params.toString();
    history.replaceState(null, "", window.location.pathname + (qs ? "?" + qs : ""));
  }

  function apply() {
    var f = filters();
    var shown = markers.filter(function (m) { return keep(m.town, f); });
    clusters.clearLayers();
    clusters.addLayers(shown);
    mapEl.dataset.visible = String(shown.length);
    if (countEl) {
      countEl.textContent = countEl.dataset.label + " " + shown.length;
    }
    renderList(shown.map(function (m) { return m.town; }));
    updateUrl(f);
  }

  if (list) {
    // Sorting happens in the page once the script runs: the header links become buttons.
    list.querySelectorAll("th[data-sort]").forEach(function (th) {
      var button = text("button", th.textContent.trim(), { type: "button", "class": "sort" });
      button.addEventListener("click", function () {
        var key = th.dataset.sort;
        sort = { key: key, dir: sort.key === key ? -sort.dir : (key === "population" || key === "value" ? -1 : 1) };
        apply();
      });
      th.replaceChildren(button);
    });
    var pager = document.querySelector("[data-pager]");
    if (pager) { pager.hidden = true; }
  }

  if (form) {
    form.addEventListener("change", function (event) {
      if (event.target.hasAttribute("data-submit-on-change")) {
        form.submit();
        return;
      }
      apply();
    });
    form.addEventListener("input", function (event) {
      if (event.target.name === "threshold") { apply(); }
    });
  }
  apply();
})();
