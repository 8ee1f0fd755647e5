/* Zoom and pan for the playbook graph (templates/troubleshooting/publishing/version.html).
   A static file loaded with the page's nonce: the Content-Security-Policy forbids inline
   script and inline style, so this only sets the SVG's viewBox and toggles classes. Without
   it the drawing keeps its natural size and scrolls in its box.

   The viewBox always has the viewport's aspect ratio, so one scale maps drawing units to
   screen pixels: scale 1 is the drawing's natural size, the first view shows the start. */
(function () {
  "use strict";

  var STEP = 1.25;
  var MAX_SCALE = 3;
  var PAN = 60;  // screen pixels per arrow key press

  function setUp(view) {
    var svg = view.querySelector("svg.pb-graph");
    var tools = view.parentNode.querySelector(".pb-graph-tools");
    if (!svg || !tools) return;
    var width = Number(svg.getAttribute("width"));
    var height = Number(svg.getAttribute("height"));
    var start = svg.querySelector("[data-start]");
    var state = {x: 0, y: 0, scale: 1};

    view.classList.add("pb-graph-live");
    tools.hidden = false;
    svg.setAttribute("preserveAspectRatio", "xMinYMin meet");

    function screen() {
      return {w: Math.max(view.clientWidth, 1), h: Math.max(view.clientHeight, 1)};
    }

    function fitScale() {
      var s = screen();
      return Math.min(s.w / width, s.h / height);
    }

    function minScale() {
      return Math.min(fitScale(), 1) * 0.9;
    }

    function draw() {
      var s = screen();
      var w = s.w / state.scale;
      var h = s.h / state.scale;
      // Keep some of the drawing in sight whatever the panning.
      state.x = Math.min(Math.max(state.x, -w * 0.75), width - w * 0.25);
      state.y = Math.min(Math.max(state.y, -h * 0.75), height - h * 0.25);
      svg.setAttribute("viewBox", [state.x, state.y, w, h].map(function (n) {
        return Math.round(n * 100) / 100;
      }).join(" "));
    }

    function showStart() {
      var s = screen();
      state.scale = 1;
      var w = s.w / state.scale;
      if (!start || width <= w) {
        state.x = (width - w) / 2;  // the whole width fits: centre it
        state.y = 0;
      } else {
        var box = start.getBBox();
        state.x = box.x + box.width / 2 - w / 2;
        state.y = Math.max(box.y - 30, 0);
      }
      draw();
    }

    function fit() {
      var s = screen();
      state.scale = fitScale();
      state.x = (width - s.w / state.scale) / 2;
      state.y = (height - s.h / state.scale) / 2;
      draw();
    }

    // Zoom by a factor, keeping the point at (px, py) on screen where it is.
    function zoom(factor, px, py) {
      var s = screen();
      if (px === undefined) { px = s.w / 2; py = s.h / 2; }
      var scale = Math.min(Math.max(state.scale * factor, minScale()), MAX_SCALE);
      state.x += px / state.scale - px / scale;
      state.y += py / state.scale - py / scale;
      state.scale = scale;
      draw();
    }

    function pan(dx, dy) {
      state.x -= dx / state.scale;
      state.y -= dy / state.scale;
      draw();
    }

    tools.addEventListener("click", function (event) {
      var button = event.target.closest("button[data-graph-action]");
      if (!button) return;
      var action = button.dataset.graphAction;
      if (action === "zoom-in") zoom(STEP);
      else if (action === "zoom-out") zoom(1 / STEP);
      else if (action === "fit") fit();
      else if (action === "start") showStart();
    });

    // The plain wheel keeps scrolling the page; with Ctrl (or a trackpad pinch) it zooms.
    view.addEventListener("wheel", function (event) {
      if (!event.ctrlKey && !event.metaKey) return;
      event.preventDefault();
      var rect = view.getBoundingClientRect();
      zoom(event.deltaY < 0 ? STEP : 1 / STEP, event.clientX - rect.left, event.clientY - rect.top);
    }, {passive: false});

    var drag = null;
    view.addEventListener("pointerdown", function (event) {
      if (event.button !== 0) return;
      drag = {x: event.clientX, y: event.clientY};
      view.setPointerCapture(event.pointerId);
      view.classList.add("pb-graph-dragging");
    });
    view.addEventListener("pointermove", function (event) {
      if (!drag) return;
      pan(event.clientX - drag.x, event.clientY - drag.y);
      drag = {x: event.clientX, y: event.clientY};
    });
    function endDrag(event) {
      if (!drag) return;
      drag = null;
      view.releasePointerCapture(event.pointerId);
      view.classList.remove("pb-graph-dragging");
    }
    view.addEventListener("pointerup", endDrag);
    view.addEventListener("pointercancel", endDrag);

    view.addEventListener("keydown", function (event) {
      if (event.altKey || event.ctrlKey || event.metaKey) return;
      var moves = {ArrowLeft: [PAN, 0], ArrowRight: [-PAN, 0], ArrowUp: [0, PAN], ArrowDown: [0, -PAN]};
      if (moves[event.key]) pan(moves[event.key][0], moves[event.key][1]);
      else if (event.key === "+" || event.key === "=") zoom(STEP);
      else if (event.key === "-" || event.key === "_") zoom(1 / STEP);
      else return;
      event.preventDefault();
    });

    window.addEventListener("resize", draw);
    showStart();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".pb-graph-scroll").forEach(setUp);
  });
})();
