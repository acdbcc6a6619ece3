/* Risk dashboard and company page: Chart.js time series and the Cytoscape.js neighbourhood graph.
   Data comes from json_script elements rendered by the server; no inline script (CSP). */
(function () {
  "use strict";

  var LEVEL_COLOURS = { none: "#9aa5b1", watch: "#e0b400", warning: "#f08c00", critical: "#d62828" };
  var RELATION_STYLES = {
    co_mention: { colour: "#a0aec0", line: "dashed", arrow: "none" },
    supplier: { colour: "#1f6feb", line: "solid", arrow: "triangle" },
    customer: { colour: "#7048e8", line: "solid", arrow: "triangle" },
    subsidiary: { colour: "#2b8a3e", line: "dotted", arrow: "triangle" },
    partner: { colour: "#0c8599", line: "solid", arrow: "none" }
  };

  function readJson(id) {
    var element = document.getElementById(id);
    if (!element) {
      return null;
    }
    try {
      return JSON.parse(element.textContent);
    } catch (error) {
      return null;
    }
  }

  // The watchlist's alert levels as flat dashed lines, so a reader sees which line a score crossed.
  function thresholdLines(labels, thresholds, yAxisID) {
    if (!thresholds) {
      return [];
    }
    return ["watch", "warning", "critical"].filter(function (level) {
      return typeof thresholds[level] === "number";
    }).map(function (level) {
      var line = {
        label: level + " " + thresholds[level],
        data: labels.map(function () { return thresholds[level]; }),
        borderColor: LEVEL_COLOURS[level],
        backgroundColor: LEVEL_COLOURS[level],
        borderDash: [6, 4],
        borderWidth: 1,
        pointRadius: 0,
        pointHitRadius: 0,
        fill: false
      };
      if (yAxisID) {
        line.yAxisID = yAxisID;
      }
      return line;
    });
  }

  function lineChart(canvas, data, yOptions, thresholds) {
    if (!canvas || typeof window.Chart === "undefined") {
      return null;
    }
    var datasets = data.datasets.map(function (dataset) {
      return { label: dataset.label, data: dataset.data, spanGaps: true, pointRadius: 2, borderWidth: 2, tension: 0.1 };
    }).concat(thresholdLines(data.labels, thresholds));
    var chart = new window.Chart(canvas, {
      type: "line",
      data: { labels: data.labels, datasets: datasets },
      options: {
        animation: false,
        maintainAspectRatio: false,
        interaction: { mode: "nearest", intersect: false },
        scales: { x: { type: "category", ticks: { maxTicksLimit: 12 } }, y: yOptions },
        plugins: { legend: { position: "bottom" } }
      }
    });
    canvas.setAttribute("data-rendered", "true");
    canvas.setAttribute("data-threshold-lines", String(thresholdLines(data.labels, thresholds).length));
    return chart;
  }

  function dashboardCharts() {
    var data = readJson("risk-chart-data");
    if (!data) {
      return;
    }
    lineChart(document.getElementById("score-chart"), data.scores, { min: 0, max: 100, title: { display: true, text: "Risk score" } }, data.thresholds);
    lineChart(document.getElementById("sentiment-chart"), data.sentiment, { min: -1, max: 1, title: { display: true, text: "Mean sentiment" } });
  }

  function companyChart() {
    var data = readJson("company-chart-data");
    var canvas = document.getElementById("company-chart");
    if (!data || !canvas || typeof window.Chart === "undefined") {
      return;
    }
    new window.Chart(canvas, {
      type: "line",
      data: {
        labels: data.labels,
        datasets: [
          { label: "Risk score", data: data.score, yAxisID: "y", spanGaps: true, borderWidth: 2, pointRadius: 2 },
          { label: "Mean sentiment", data: data.sentiment, yAxisID: "y1", spanGaps: true, borderWidth: 1, pointRadius: 2, borderDash: [4, 3] }
        ].concat(thresholdLines(data.labels, data.thresholds, "y"))
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        scales: {
          x: { type: "category", ticks: { maxTicksLimit: 12 } },
          y: { min: 0, max: 100, position: "left", title: { display: true, text: "Risk score" } },
          y1: { min: -1, max: 1, position: "right", grid: { drawOnChartArea: false }, title: { display: true, text: "Sentiment" } }
        },
        plugins: { legend: { position: "bottom" } }
      }
    });
    canvas.setAttribute("data-rendered", "true");
    canvas.setAttribute("data-threshold-lines", String(thresholdLines(data.labels, data.thresholds).length));
  }

  function neighbourhoodGraph() {
    var data = readJson("risk-graph-data");
    var container = document.getElementById("risk-graph");
    if (!data || !container || typeof window.cytoscape === "undefined") {
      return;
    }
    var elements = data.nodes.map(function (node) {
      return { group: "nodes", data: node };
    }).concat(data.edges.map(function (edge) {
      var style = RELATION_STYLES[edge.relation] || RELATION_STYLES.co_mention;
      return {
        group: "edges",
        data: Object.assign({}, edge, { colour: style.colour, line: style.line, arrow: style.arrow })
      };
    }));
    var cy = window.cytoscape({
      container: container,
      elements: elements,
      wheelSensitivity: 0.3,
      minZoom: 0.2,
      maxZoom: 1.6,
      style: [
        {
          selector: "node",
          style: {
            "background-color": function (node) { return LEVEL_COLOURS[node.data("level")] || LEVEL_COLOURS.none; },
            label: "data(label)",
            "font-size": 11,
            "text-valign": "bottom",
            "text-margin-y": 4,
            width: 26,
            height: 26
          }
        },
        { selector: "node[?watched]", style: { "border-width": 3, "border-color": "#172033", width: 34, height: 34 } },
        {
          selector: "edge",
          style: {
            width: "data(width)",
            "line-color": "data(colour)",
            "line-style": "data(line)",
            "target-arrow-shape": "data(arrow)",
            "target-arrow-color": "data(colour)",
            "curve-style": "bezier",
            opacity: 0.8
          }
        }
      ],
      layout: { name: data.nodes.length > 1 ? "cose" : "grid", animate: false, randomize: false, padding: 40 }
    });
    cy.on("tap", "node", function (event) {
      var url = event.target.data("url");
      if (url) {
        window.location.assign(url);
      }
    });
    // Cytoscape caches where its container sits; the critical banner above it grows when htmx swaps
    // in a new alert, which moves the graph without a scroll or resize event: clicks would miss.
    document.body.addEventListener("htmx:afterSettle", function () {
      cy.resize();
    });
    container.setAttribute("data-rendered", "true");
    container.setAttribute("data-node-count", String(cy.nodes().length));
    container.setAttribute("data-edge-count", String(cy.edges().length));
    // The browser test reaches the graph through this handle (no other global state is kept).
    container.cy = cy;
  }

  function autoSubmit() {
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () {
        if (select.form) {
          select.form.submit();
        }
      });
    });
  }

  function start() {
    dashboardCharts();
    companyChart();
    neighbourhoodGraph();
    autoSubmit();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
