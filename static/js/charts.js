/* Draws every <canvas data-chart="<json_script id>"> with Chart.js. The server builds the
 * spec (towns/pages.py Chart.spec): the same numbers as the data table beside the chart. */
(function () {
  "use strict";
  // Folded sections (<details class="fold">): a link to a heading inside one opens it.
  function openFoldOf(hash) {
    var target = hash && hash.length > 1 && document.getElementById(decodeURIComponent(hash.slice(1)));
    var fold = target && target.closest("details.fold");
    if (fold && !fold.open) {
      fold.open = true;
      target.scrollIntoView();
    }
  }
  window.addEventListener("hashchange", function () { openFoldOf(window.location.hash); });
  openFoldOf(window.location.hash);
  if (typeof Chart === "undefined") {
    return;
  }
  var palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"];
  var print = window.matchMedia && window.matchMedia("print").matches;
  Chart.defaults.font.family = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
  Chart.defaults.color = "#1d2733";
  // Axis and tooltip numbers as the page's language writes them (1 555,5 in Russian).
  Chart.defaults.locale = document.documentElement.lang || "en";
  Chart.defaults.animation = print ? false : Chart.defaults.animation;

  function colour(spec, ds, i) {
    return ds.colour || (spec.colours && spec.colours[i]) || palette[i % palette.length];
  }

  function gauge(spec) {
    var ds = spec.datasets[0];
    var empty = spec.empty;
    return {
      type: "doughnut",
      data: {
        labels: spec.labels,
        datasets: [{
          label: ds.label,
          data: empty ? [1] : ds.data,
          backgroundColor: empty ? ["#dddddd"] : spec.colours,
          borderColor: "#ffffff"
        }]
      },
      options: {
        rotation: -90,
        circumference: 180,
        cutout: "60%",
        maintainAspectRatio: false,
        plugins: { legend: { position: "bottom" }, tooltip: { enabled: !empty } }
      }
    };
  }

  function bar(spec, stacked) {
    return {
      type: "bar",
      data: {
        labels: spec.labels,
        datasets: spec.datasets.map(function (ds, i) {
          var c = stacked ? colour(spec, ds, i) : (spec.colours || palette);
          return { label: ds.label, data: ds.data, backgroundColor: c, borderColor: "#222", borderWidth: 1 };
        })
      },
      options: {
        maintainAspectRatio: false,
        plugins: { legend: { display: stacked } },
        scales: {
          x: { stacked: stacked },
          y: {
            stacked: stacked,
            beginAtZero: true,
            max: spec.max,
            title: { display: !!spec.yTitle, text: spec.yTitle },
            ticks: spec.integer ? { precision: 0 } : {}
          }
        }
      }
    };
  }

  function line(spec) {
    return {
      type: "line",
      data: {
        labels: spec.labels,
        datasets: spec.datasets.map(function (ds, i) {
          var c = colour(spec, ds, i);
          return {
            label: ds.label,
            data: ds.data,
            borderColor: c,
            backgroundColor: c,
            borderDash: ds.dash ? (ds.standard ? [2, 3] : [6, 4]) : [],
            pointRadius: ds.standard ? 0 : 3,
            pointStyle: ["circle", "rect", "triangle", "rectRot"][i % 4],
            spanGaps: true,
            tension: 0
          };
        })
      },
      options: {
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        scales: { y: { title: { display: !!spec.yTitle, text: spec.yTitle } } },
        plugins: { legend: { position: "bottom", labels: { usePointStyle: true } } }
      }
    };
  }

  function timeline(spec) {
    var ds = spec.datasets[0];
    return {
      type: "bar",
      data: {
        labels: spec.labels,
        datasets: [{ label: ds.label, data: ds.data, backgroundColor: colour(spec, ds, 0) }]
      },
      options: {
        indexAxis: "y",
        maintainAspectRatio: false,
        plugins: { legend: { display: false } },
        scales: {
          // Bars float from a start year to an end year: the axis spans the years (a bar
          // chart's value axis would otherwise start at year 0), and a long post name is cut
          // with an ellipsis instead of running off the canvas (the table below has it whole).
          y: {
            ticks: {
              callback: function (v) {
                var label = String(this.getLabelForValue(v));
                return label.length > 36 ? label.slice(0, 35) + "…" : label;
              }
            }
          },
          x: {
            type: "linear",
            beginAtZero: false,
            title: { display: !!spec.xTitle, text: spec.xTitle },
            ticks: { precision: 0, callback: function (v) { return Math.floor(v); } }
          }
        }
      }
    };
  }

  var builders = { gauge: gauge, bar: function (s) { return bar(s, false); }, stacked: function (s) { return bar(s, true); }, line: line, timeline: timeline };

  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var source = document.getElementById(canvas.dataset.chart);
    if (!source) { return; }
    var spec = JSON.parse(source.textContent);
    var build = builders[spec.type];
    if (!build) { return; }
    var chart = new Chart(canvas, build(spec));
    canvas.dataset.drawn = "true";
    window.addEventListener("beforeprint", function () { chart.resize(); });
  });
})();
