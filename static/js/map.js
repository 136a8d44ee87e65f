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
  // Without a tile layer there is nothing to attribute on the map (the outline's credit is in
  // the note below it), so the attribution control comes only with the configured tiles.
  var withTiles = !!(data.tiles && data.tiles.url);
  var map = L.map(mapEl, {
    zoomSnap: 0.25, minZoom: 5, maxZoom: 14, attributionControl: withTiles, zoomControl: false
  }).setView([53.7, 27.9], 6);
  // The zoom buttons named in the page's language (Leaflet's own titles are English).
  L.control.zoom({
    zoomInTitle: data.labels.zoom_in || "Zoom in",
    zoomOutTitle: data.labels.zoom_out || "Zoom out"
  }).addTo(map);
  // Numbers as the page's language writes them (16 296 in Russian, 16,296 in English).
  var locale = document.documentElement.lang || undefined;
  if (withTiles) {
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

  // Typology is told by shape as well as by colour (data.shapes, the same as the legend's), so
  // the map survives colour blindness and greyscale print.
  // Built as DOM nodes, never from an HTML string: nothing of the data is ever parsed as markup.
  // The shapes (data.shapes, from the server) are read as SVG and only their geometry kept.
  var SVG_NS = "http://www.w3.org/2000/svg";
  var SHAPE_TAGS = { circle: true, rect: true, polygon: true, path: true };
  var SHAPE_ATTRS = ["cx", "cy", "r", "x", "y", "width", "height", "points", "d", "fill"];
  var shapeCache = {};

  function shapeNodes(shape) {
    var key = data.shapes[shape] ? shape : "circle";
    if (!shapeCache[key]) {
      var doc = new DOMParser().parseFromString(
        '<svg xmlns="' + SVG_NS + '">' + data.shapes[key] + "</svg>", "image/svg+xml");
      shapeCache[key] = Array.prototype.filter.call(doc.documentElement.children, function (n) {
        return SHAPE_TAGS[n.localName];
      }).map(function (n) {
        var el = document.createElementNS(SVG_NS, n.localName);
        SHAPE_ATTRS.forEach(function (a) {
          if (n.hasAttribute(a)) { el.setAttribute(a, n.getAttribute(a)); }
        });
        return el;
      });
    }
    return shapeCache[key].map(function (n) { return n.cloneNode(true); });
  }

  function shapeSvg(shape, colour, size) {
    // A one-pixel outline whatever the size (the viewBox is 20 units wide).
    var svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 20 20");
    svg.setAttribute("width", String(size));
    svg.setAttribute("height", String(size));
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var g = document.createElementNS(SVG_NS, "g");
    g.setAttribute("fill", String(colour));
    g.setAttribute("stroke", "#222");
    g.setAttribute("stroke-width", (20 / size).toFixed(2));
    shapeNodes(shape).forEach(function (n) { g.appendChild(n); });
    svg.appendChild(g);
    return svg;
  }

  function format(template, values) {
    return template.replace(/\{(\w+)\}/g, function (m, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? String(values[key]) : m;
    });
  }

  function townLabel(town) {
    return format(data.labels.marker, {
      name: town.name,
      typology: town.typology_label,
      population: town.population ? town.population.toLocaleString(locale) : data.labels.unknown
    });
  }

  // An icon whose element carries the accessible name: Leaflet makes every marker icon a
  // focusable role=button (keyboard: true) and turns Enter into a click, but a divIcon has
  // no alt text of its own.
  var LabelledIcon = L.DivIcon.extend({
    createIcon: function (old) {
      var el = L.DivIcon.prototype.createIcon.call(this, old);
      el.setAttribute("aria-label", this.options.label);
      if (this.options.background) { el.style.background = this.options.background; }
      return el;
    }
  });

  // A cluster shows its count on a ring split by the typology colours of its towns, so the
  // colours keep one meaning on the whole map; its name lists the towns by type in words.
  function clusterIcon(cluster) {
    var children = cluster.getAllChildMarkers();
    var counts = {};
    var byType = {};
    children.forEach(function (m) {
      counts[m.town.colour] = (counts[m.town.colour] || 0) + 1;
      byType[m.town.typology_label] = (byType[m.town.typology_label] || 0) + 1;
    });
    var stops = [];
    var at = 0;
    Object.keys(counts).forEach(function (colour) {
      var next = at + (counts[colour] / children.length) * 360;
      stops.push(colour + " " + at + "deg " + next + "deg");
      at = next;
    });
    var types = Object.keys(byType).sort(function (a, b) { return byType[b] - byType[a]; })
      .map(function (label) { return byType[label] + " " + label; }).join(", ");
    var size = children.length < 10 ? 30 : children.length < 50 ? 36 : 44;
    return new LabelledIcon({
      html: clusterCount(children.length),
      className: "marker-cluster town-cluster",
      iconSize: L.point(size, size),
      background: "conic-gradient(" + stops.join(", ") + ")",
      label: format(data.labels.cluster, { n: children.length, types: types })
    });
  }

  function clusterCount(n) {
    var box = document.createElement("div");
    var count = document.createElement("span");
    count.textContent = String(n);
    box.appendChild(count);
    return box;
  }

  var clusters = L.markerClusterGroup({
    maxClusterRadius: 40,
    disableClusteringAtZoom: 10,
    showCoverageOnHover: false,
    iconCreateFunction: clusterIcon
  });
  map.addLayer(clusters);

  function radius(population) {
    // Area proportional to the population, within readable bounds (a shape needs ~12 px).
    if (!population) { return 6; }
    return Math.max(6, Math.min(22, Math.sqrt(population) / 22));
  }

  function text(tag, value, attrs) {
    var el = document.createElement(tag);
    el.textContent = value;
    Object.keys(attrs || {}).forEach(function (k) { el.setAttribute(k, attrs[k]); });
    return el;
  }

  function popup(town) {
    var box = document.createElement("div");
    var link = text("a", town.name, { href: town.url, "data-popup-link": "" });
    box.appendChild(link);
    box.appendChild(text("div", data.labels.typology + ": " + town.typology_label));
    box.appendChild(text("div", data.labels.population + ": " +
      (town.population ? town.population.toLocaleString(locale) : data.labels.unknown)));
    if (town.value !== null && town.value !== undefined) {
      box.appendChild(text("div", data.labels.value + ": " + town.value.toLocaleString(locale)));
    }
    return box;
  }

  var markers = data.towns.map(function (town) {
    var size = Math.round(2 * radius(town.population));
    var target = Math.max(size, 24); // a tap target of at least 24 px around a small shape
    var marker = L.marker([town.lat, town.lon], {
      keyboard: true,
      riseOnHover: true,
      icon: new LabelledIcon({
        html: shapeSvg(town.shape, town.colour, size),
        className: "town-marker",
        iconSize: L.point(target, target),
        label: townLabel(town)
      })
    });
    marker.bindPopup(function () { return popup(town); });
    // Text only: a string given to Leaflet would be set as innerHTML.
    marker.bindTooltip(text("span", town.name), { direction: "top", offset: [0, -size / 2] });
    marker.town = town;
    return marker;
  });

  // Keyboard: Enter on a town opens its popup and moves the focus to the town's link (Enter
  // again opens the dashboard); Escape closes it and returns to the town. Enter on a cluster
  // zooms in (markercluster) and the focus moves to the first town or cluster inside it.
  var popupSource = null;
  map.on("popupopen", function (e) {
    popupSource = e.popup._source || null;
    var link = e.popup.getElement().querySelector("[data-popup-link]");
    if (link) { link.focus({ preventScroll: true }); }
  });
  map.on("popupclose", function (e) {
    var el = e.popup.getElement();
    var source = popupSource;
    popupSource = null;
    if (el && el.contains(document.activeElement) && source && source.getElement()) {
      source.getElement().focus({ preventScroll: true });
    }
  });
  L.DomEvent.on(map.getPane("popupPane"), "keydown", function (e) {
    if (e.key === "Escape") {
      var source = popupSource;
      map.closePopup();
      if (source && source.getElement()) { source.getElement().focus({ preventScroll: true }); }
    }
  });

  var pendingFocus = null;
  function focusPending() {
    if (!pendingFocus) { return; }
    var bounds = map.getBounds();
    for (var i = 0; i < pendingFocus.length; i++) {
      var shown = clusters.getVisibleParent(pendingFocus[i]);
      var el = shown && shown.getElement && shown.getElement();
      if (el && bounds.contains(shown.getLatLng())) {
        pendingFocus = null;
        el.focus({ preventScroll: true });
        return;
      }
    }
  }
  clusters.on("clusterkeypress", function (e) {
    if (e.originalEvent && e.originalEvent.keyCode === 13) {
      pendingFocus = e.layer.getAllChildMarkers();
    }
  });
  clusters.on("animationend spiderfied", focusPending);
  map.on("moveend", function () { window.setTimeout(focusPending, 350); });

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
      type.appendChild(shapeSvg(town.shape, town.colour, 16));
      type.appendChild(document.createTextNode(" " + town.typology_label));
      tr.appendChild(type);
      tr.appendChild(text("td", town.population ? town.population.toLocaleString(locale) : "—", { "class": "num" }));
      if (withValue) {
        tr.appendChild(text("td", town.value === null ? "—" : town.value.toLocaleString(locale), { "class": "num" }));
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
