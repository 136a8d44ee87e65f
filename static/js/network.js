/* Networks drawn with Cytoscape.js from json_script elements: a town's influence groups and key
 * posts (towns/pages.py network_chart) and its civil society organisations (csos/profile.py
 * town_network_chart), on the town page and, one per town, on the compare page. Names of
 * persons are in the data only for viewers who may see them. Every graph has a table beside
 * it with the same links (its text alternative), so the canvas itself is role=img. */
(function () {
  "use strict";
  if (typeof cytoscape === "undefined") {
    return;
  }
  // Cytoscape adds a <style> element for its containers unless an element with this id exists;
  // the Content Security Policy refuses inline styles, so the rule it would add lives in
  // static/css/site.css and this marker tells Cytoscape it is there.
  if (!document.getElementById("__________cytoscape_stylesheet")) {
    var marker = document.createElement("meta");
    marker.id = "__________cytoscape_stylesheet";
    document.head.appendChild(marker);
  }
  // Colour and shape together, never colour alone (the legends below the graphs match).
  var styles = {
    our_own: ["#0072B2", "ellipse"],
    alien: ["#D55E00", "diamond"],
    post: ["#999999", "round-rectangle"],
    town: ["#1d2733", "ellipse"]
  };

  function nodeStyle(n, index) {
    var own = n.data(index === 0 ? "colour" : "shape");
    if (own) { return own; }
    var style = styles[n.data("kind")] || styles.post;
    return style[index];
  }

  document.querySelectorAll("[data-network]").forEach(function (el) {
    var source = document.getElementById(el.dataset.network);
    if (!source) { return; }
    var elements = JSON.parse(source.textContent);
    var directed = elements.directed !== false;
    var layout = elements.nodes.some(function (n) { return n.data.kind === "town"; })
        ? {
          name: "concentric",
          concentric: function (n) { return n.data("kind") === "town" ? 2 : 1; },
          levelWidth: function () { return 1; },
          // Room for each node's label (up to three lines of 120 px), so no two labels meet.
          minNodeSpacing: 40,
          avoidOverlap: true,
          nodeDimensionsIncludeLabels: true,
          padding: 10
        }
        : { name: "circle", padding: 20, avoidOverlap: true, nodeDimensionsIncludeLabels: true };
    var cy = cytoscape({
      container: el,
      elements: { nodes: elements.nodes, edges: elements.edges },
      userZoomingEnabled: false,
      userPanningEnabled: false,
      boxSelectionEnabled: false,
      autoungrabify: true,
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
            // A label sits on a white card, so an edge passing behind it never crosses its text.
            "text-background-color": "#ffffff",
            "text-background-opacity": 0.9,
            "text-background-padding": 2,
            "text-background-shape": "round-rectangle",
            "background-color": function (n) { return nodeStyle(n, 0); },
            shape: function (n) { return nodeStyle(n, 1); },
            "border-width": 1,
            "border-color": "#222222",
            width: 18,
            height: 18
          }
        },
        { selector: "node[kind = 'town']", style: { width: 28, height: 28, "font-weight": "bold" } },
        {
          selector: "edge",
          style: {
            width: function (e) { return 1 + (e.data("weight") || 1); },
            "line-color": "#888888",
            "curve-style": "bezier",
            "target-arrow-shape": directed ? "triangle" : "none",
            "target-arrow-color": "#888888",
            label: "data(label)",
            "font-size": 9,
            "text-background-color": "#ffffff",
            "text-background-opacity": 1,
            "text-background-padding": 1,
            "text-border-width": 1,
            "text-border-color": "#888888",
            "text-border-opacity": 1
          }
        },
        { selector: "edge[kind = 'shapes']", style: { "line-style": "dashed", width: 1.5 } }
      ],
      layout: layout
    });
    // A graph in a folded section is laid out in an empty box: lay it out again when its
    // section opens.
    var fold = el.closest("details");
    if (fold) {
      fold.addEventListener("toggle", function () {
        if (!fold.open) { return; }
        cy.resize();
        cy.layout(layout).run();
        cy.fit(undefined, 20);
      });
    }
    // Keep the graph inside its box when the window (or the print layout) changes its size.
    window.addEventListener("resize", function () { cy.resize(); cy.fit(undefined, 20); });
    window.addEventListener("beforeprint", function () { cy.resize(); cy.fit(undefined, 20); });
    el.dataset.drawn = String(cy.nodes().length);
  });
})();
