// The animatic player: each panel's selected take for its duration, captions, a timeline
// with panel boundaries (editors drag a boundary to change a duration), keyboard control.
// No inline code: the CSP allows only scripts from this origin. Times are in seconds.
(function () {
  "use strict";

  var PRELOAD_AHEAD = 4;
  var KEEP_BEHIND = 2;
  var SNAP_S = 0.05;

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (e) {
      return "";
    }
  }

  function clock(seconds) {
    var tenths = Math.round(seconds * 10);
    var whole = Math.floor(tenths / 10);
    var h = Math.floor(whole / 3600);
    var m = Math.floor((whole % 3600) / 60);
    var s = whole % 60;
    var text = (h ? h + ":" + String(m).padStart(2, "0") : String(m)) + ":" + String(s).padStart(2, "0");
    return text + "." + (tenths % 10);
  }

  function secondsLabel(value) {
    return (Math.round(value * 100) / 100) + " s";
  }

  function Player(root, data) {
    this.root = root;
    this.data = data;
    this.panels = data.panels;
    this.stage = root.querySelector("[data-stage]");
    this.picture = root.querySelector("[data-picture]");
    this.caption = root.querySelector("[data-caption]");
    this.captionShot = root.querySelector("[data-caption-shot]");
    this.captionDialogue = root.querySelector("[data-caption-dialogue]");
    this.playButton = root.querySelector("[data-play]");
    this.clockBox = root.querySelector("[data-clock]");
    this.track = root.querySelector("[data-track]");
    this.playhead = root.querySelector("[data-playhead]");
    this.notice = root.querySelector("[data-notice]");
    this.loop = root.querySelector("[data-loop]");
    this.captions = root.querySelector("[data-captions]");
    this.fullButton = root.querySelector("[data-full]");
    this.cache = {};
    this.current = -1;
    this.time = 0;
    this.playing = false;
    this.stage.style.aspectRatio = String(data.ratio);
    this.layout();
    this.buildTimeline();
    this.bind();
    this.show(0);
    this.paint();
  }

  // Panel start times from durations; the last entry is the total running time.
  Player.prototype.layout = function () {
    var starts = [0];
    this.panels.forEach(function (p) { starts.push(starts[starts.length - 1] + p.seconds); });
    this.starts = starts;
    this.total = starts[starts.length - 1];
  };

  Player.prototype.indexAt = function (t) {
    var lo = 0;
    var hi = this.panels.length - 1;
    while (lo < hi) {
      var mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= t) lo = mid; else hi = mid - 1;
    }
    return lo;
  };

  // An <img> per nearby panel, decoded ahead of time so a cut shows at once.
  Player.prototype.element = function (i) {
    if (this.cache[i]) return this.cache[i];
    var panel = this.panels[i];
    var el;
    if (panel.image) {
      el = new Image();
      el.alt = "Shot " + panel.number;
      el.className = "animatic-image";
      el.src = panel.image;
      if (el.decode) el.decode().catch(function () { /* shown when it arrives */ });
    } else {
      el = document.createElement("div");
      el.className = "animatic-placeholder";
      var title = document.createElement("strong");
      title.textContent = "Shot " + panel.number;
      var line = document.createElement("span");
      line.textContent = "Not generated yet";
      el.appendChild(title);
      el.appendChild(line);
    }
    this.cache[i] = el;
    return el;
  };

  Player.prototype.preload = function (i) {
    var self = this;
    for (var j = i; j <= Math.min(this.panels.length - 1, i + PRELOAD_AHEAD); j++) this.element(j);
    Object.keys(this.cache).forEach(function (key) {
      var k = Number(key);
      if (k < i - KEEP_BEHIND || k > i + PRELOAD_AHEAD) delete self.cache[k];
    });
  };

  Player.prototype.show = function (i) {
    if (i === this.current) return;
    var panel = this.panels[i];
    this.picture.replaceChildren(this.element(i));
    this.captionShot.textContent = "Shot " + panel.number;
    this.captionDialogue.textContent = panel.dialogue;
    this.captionDialogue.classList.toggle("hidden", !panel.dialogue);
    this.stage.setAttribute("data-panel", String(panel.number));
    if (this.current >= 0 && this.segments[this.current]) {
      this.segments[this.current].classList.remove("is-current");
    }
    if (this.segments[i]) this.segments[i].classList.add("is-current");
    this.current = i;
    this.preload(i);
  };

  Player.prototype.paint = function () {
    var t = Math.min(this.time, this.total);
    this.clockBox.textContent = clock(t) + " / " + clock(this.total);
    this.playhead.style.left = (this.total ? (t / this.total) * 100 : 0) + "%";
    this.track.setAttribute("aria-valuenow", t.toFixed(1));
    this.track.setAttribute("aria-valuetext", clock(t) + ", shot " + this.panels[this.current].number);
  };

  Player.prototype.tick = function (now) {
    if (!this.playing) return;
    var t = this.startTime + (now - this.startWall) / 1000;
    if (t >= this.total) {
      if (this.loop.checked) {
        this.startTime = 0;
        this.startWall = now;
        t = 0;
      } else {
        this.time = this.total;
        this.pause();
        return;
      }
    }
    this.time = t;
    this.show(this.indexAt(t));
    this.paint();
    var self = this;
    this.frame = window.requestAnimationFrame(function (n) { self.tick(n); });
  };

  Player.prototype.play = function () {
    if (this.playing) return;
    if (this.time >= this.total) this.time = 0;
    this.playing = true;
    this.startTime = this.time;
    this.startWall = performance.now();
    this.show(this.indexAt(this.time));
    this.root.setAttribute("data-state", "playing");
    this.playButton.textContent = "Pause";
    this.playButton.setAttribute("aria-label", "Pause");
    var self = this;
    this.frame = window.requestAnimationFrame(function (n) { self.tick(n); });
  };

  Player.prototype.pause = function () {
    if (this.playing) {
      this.time = Math.min(this.total, this.startTime + (performance.now() - this.startWall) / 1000);
    }
    this.playing = false;
    window.cancelAnimationFrame(this.frame);
    this.root.setAttribute("data-state", "paused");
    this.playButton.textContent = "Play";
    this.playButton.setAttribute("aria-label", "Play");
    this.paint();
  };

  Player.prototype.toggle = function () {
    if (this.playing) this.pause(); else this.play();
  };

  Player.prototype.seek = function (t) {
    this.time = Math.max(0, Math.min(this.total, t));
    if (this.playing) {
      this.startTime = this.time;
      this.startWall = performance.now();
    }
    this.show(this.indexAt(Math.min(this.time, this.total - 1e-6)));
    this.paint();
  };

  Player.prototype.step = function (delta) {
    var i = Math.max(0, Math.min(this.panels.length - 1, this.current + delta));
    this.seek(this.starts[i]);
  };

  Player.prototype.setFull = function (on) {
    this.root.classList.toggle("is-full", on);
    document.documentElement.classList.toggle("animatic-full", on);
    this.fullButton.setAttribute("aria-pressed", on ? "true" : "false");
    this.fullButton.textContent = on ? "Leave full window" : "Full window";
  };

  // --- timeline ----------------------------------------------------------------------------

  Player.prototype.buildTimeline = function () {
    var self = this;
    this.track.replaceChildren();
    this.segments = this.panels.map(function (panel, i) {
      var seg = document.createElement("div");
      seg.className = "animatic-segment" + (panel.image ? "" : " is-empty");
      seg.setAttribute("data-segment", String(i));
      seg.title = "Shot " + panel.number + " · " + secondsLabel(panel.seconds) + (panel.note ? " · " + panel.note : "");
      var label = document.createElement("span");
      label.className = "animatic-segment-label";
      label.textContent = panel.number;
      seg.appendChild(label);
      if (self.data.canEdit) {
        var handle = document.createElement("span");
        handle.className = "animatic-handle";
        handle.setAttribute("data-handle", String(i));
        handle.title = "Drag to change how long shot " + panel.number + " lasts";
        seg.appendChild(handle);
      }
      self.track.appendChild(seg);
      return seg;
    });
    this.track.setAttribute("aria-valuemax", this.total.toFixed(1));
    this.sizeSegments();
  };

  Player.prototype.sizeSegments = function () {
    var total = this.total;
    this.panels.forEach(function (panel, i) {
      this.segments[i].style.flexGrow = String(panel.seconds / total);
    }, this);
  };

  Player.prototype.timeAtX = function (clientX) {
    var box = this.track.getBoundingClientRect();
    return ((clientX - box.left) / box.width) * this.total;
  };

  Player.prototype.startResize = function (event, i) {
    var self = this;
    var panel = this.panels[i];
    var box = this.track.getBoundingClientRect();
    var secondsPerPixel = this.total / box.width;
    var startX = event.clientX;
    var before = panel.seconds;
    var wasPlaying = this.playing;
    this.pause();
    event.preventDefault();
    event.stopPropagation();
    this.segments[i].classList.add("is-resizing");

    function move(e) {
      var value = before + (e.clientX - startX) * secondsPerPixel;
      value = Math.round(value / SNAP_S) * SNAP_S;
      value = Math.max(self.data.min, Math.min(self.data.max, value));
      panel.seconds = Math.round(value * 100) / 100;
      self.segments[i].title = "Shot " + panel.number + " · " + secondsLabel(panel.seconds);
      self.layout();
      self.sizeSegments();
      self.paint();
    }
    function up() {
      window.removeEventListener("pointermove", move);
      window.removeEventListener("pointerup", up);
      self.segments[i].classList.remove("is-resizing");
      if (panel.seconds !== before) self.saveDuration(i, before);
      if (wasPlaying) self.play();
    }
    window.addEventListener("pointermove", move);
    window.addEventListener("pointerup", up);
  };

  Player.prototype.saveDuration = function (i, before) {
    var self = this;
    var panel = this.panels[i];
    var body = new URLSearchParams();
    body.set("duration", panel.seconds.toFixed(2));
    fetch(panel.durationUrl, {
      method: "POST",
      headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
      body: body,
      credentials: "same-origin",
    })
      .then(function (response) {
        return response.json().catch(function () { return { ok: false }; }).then(function (json) {
          if (!response.ok || !json.ok) throw new Error(json.error || "The duration was not saved. Reload the page and try again.");
          return json;
        });
      })
      .then(function (json) {
        panel.written = json.written;
        panel.seconds = json.seconds;
        panel.note = json.note;
        self.layout();
        self.sizeSegments();
        self.paint();
        document.querySelectorAll("[data-running-time]").forEach(function (el) { el.textContent = json.runningTime; });
        self.say("Shot " + panel.number + " now lasts " + secondsLabel(json.written) + ".", false);
      })
      .catch(function (error) {
        panel.seconds = before;
        self.layout();
        self.sizeSegments();
        self.paint();
        self.say(error.message, true);
      });
  };

  Player.prototype.say = function (text, isError) {
    this.notice.textContent = text;
    this.notice.classList.toggle("is-error", !!isError);
    this.notice.classList.remove("hidden");
  };

  // --- input -------------------------------------------------------------------------------

  Player.prototype.bind = function () {
    var self = this;
    this.playButton.addEventListener("click", function () { self.toggle(); });
    this.root.querySelector("[data-prev]").addEventListener("click", function () { self.step(-1); });
    this.root.querySelector("[data-next]").addEventListener("click", function () { self.step(1); });
    this.captions.addEventListener("change", function () {
      self.caption.classList.toggle("hidden", !self.captions.checked);
    });
    this.fullButton.addEventListener("click", function () {
      self.setFull(!self.root.classList.contains("is-full"));
    });
    this.track.addEventListener("pointerdown", function (event) {
      var handle = event.target.closest("[data-handle]");
      if (handle) {
        self.startResize(event, Number(handle.getAttribute("data-handle")));
        return;
      }
      self.seek(self.timeAtX(event.clientX));
      function drag(e) { self.seek(self.timeAtX(e.clientX)); }
      function up() {
        window.removeEventListener("pointermove", drag);
        window.removeEventListener("pointerup", up);
      }
      window.addEventListener("pointermove", drag);
      window.addEventListener("pointerup", up);
    });
    document.addEventListener("keydown", function (event) {
      var target = event.target;
      if (target && target.closest && target.closest("input, textarea, select, [contenteditable]")) return;
      if (event.altKey || event.ctrlKey || event.metaKey) return;
      if (event.key === " " || event.key === "Spacebar") {
        event.preventDefault();
        self.toggle();
      } else if (event.key === "ArrowLeft") {
        event.preventDefault();
        self.step(-1);
      } else if (event.key === "ArrowRight") {
        event.preventDefault();
        self.step(1);
      } else if (event.key === "Escape" && self.root.classList.contains("is-full")) {
        self.setFull(false);
      }
    });
  };

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.querySelector("[data-animatic]");
    var source = document.getElementById("animatic-data");
    if (!root || !source) return;
    var data = JSON.parse(source.textContent);
    if (!data.panels.length) return;
    root.player = new Player(root, data);
  });
})();
