/* The network of a town's influence groups and key posts, drawn with Cytoscape.js from a
 * json_script element. Names of persons are in the data only for viewers who may see them. */
(function () {
  "use strict";
  var el = document.querySelector("[data-network]");
  if (!el || typeof cytoscape === "undefined") {
    return;
  }
  var elements = JSON.parse(document.getElementById(el.dataset.network).textContent);
  var colours = { our_own: "#0072B2", alien: "#D55E00", post: "#999999", town: "#1d2733" };
  var cy = cytoscape({
    container: el,
    elements: elements,
    userZoomingEnabled: false,
    boxSelectionEnabled: false,
    style: [
      {
        selector: "node",
        style: {
          label: "data(label)",
          "font-size": 10,
          "text-wrap": "wrap",
          "text-max-width": 120,
          "text-valign": "bottom",
          "text-margin-y": 4,
          "background-color": function (n) { return colours[n.data("kind")] || "#999999"; },
          width: 18,
          height: 18
        }
      },
      { selector: "node[kind = 'town']", style: { width: 28, height: 28, "font-weight": "bold" } },
      { selector: "node[kind = 'post']", style: { shape: "round-rectangle" } },
      {
        selector: "edge",
        style: {
          width: function (e) { return 1 + (e.data("weight") || 1); },
          "line-color": "#888888",
          "curve-style": "bezier",
          "target-arrow-shape": "triangle",
          "target-arrow-color": "#888888",
          label: "data(label)",
          "font-size": 9
        }
      },
      { selector: "edge[kind = 'shapes']", style: { "line-style": "dashed", width: 1.5 } }
    ],
    layout: { name: "concentric", concentric: function (n) { return n.data("kind") === "town" ? 2 : 1; }, levelWidth: function () { return 1; }, minNodeSpacing: 30 }
  });
  el.dataset.drawn = String(cy.nodes().length);
})();
