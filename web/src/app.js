// trilink live picture: a CesiumJS globe fed by `trilink serve` over one WebSocket.
// The server decides what this page may see (the view's release stream); the page
// only draws it. Messages: hello, sensors, frame, reset, end, error (see
// src/trilink/web/server.py). Offline: imagery is Cesium's bundled Natural Earth II,
// no Ion, no terrain server, no geocoder.
"use strict";

(() => {
  const NATION = { JP: "#ff5a5f", KR: "#4ea1ff", US: "#3ddc84", HUB: "#ffffff" };
  const KIND = { warhead: "#ffd400", stage: "#c8c8c8", debris: "#8a8a8a", unknown: "#ffffff" };
  const TRAIL_POINTS = 300;
  const KEEP = 3000; // samples kept per statistic

  const $ = (id) => document.getElementById(id);
  const stats = {
    messages: 0,
    bytes: 0,
    frames: 0,
    renders: 0,
    rafMs: [],
    renderMs: [],
    applyMs: [],
    transportMs: [],
    displayLagMs: [],
    frameLog: [], // [receipt performance.now(), t_s, server wall_ms]
    firstFrame: null,
    firstFused: null,
    ended: false,
    serverErrors: [],
  };
  const state = {
    hello: null,
    t: 0,
    paused: false,
    speed: 1,
    dragging: false,
    pendingLag: [],
    alerts: [],
    active: new Set(),
  };
  const push = (arr, v) => {
    arr.push(v);
    if (arr.length > KEEP) arr.shift();
  };

  // --- the globe -------------------------------------------------------------------
  const viewer = new Cesium.Viewer("globe", {
    baseLayer: Cesium.ImageryLayer.fromProviderAsync(
      Cesium.TileMapServiceImageryProvider.fromUrl(
        Cesium.buildModuleUrl("Assets/Textures/NaturalEarthII"),
      ),
    ),
    terrainProvider: new Cesium.EllipsoidTerrainProvider(),
    baseLayerPicker: false,
    geocoder: false,
    homeButton: false,
    sceneModePicker: false,
    navigationHelpButton: false,
    animation: false,
    timeline: false,
    fullscreenButton: false,
    infoBox: false,
    selectionIndicator: false,
    requestRenderMode: true,
    maximumRenderTimeChange: Infinity,
    msaaSamples: 1,
  });
  const scene = viewer.scene;
  // cheap rendering (the page must keep up at x10 even on a software GL)
  scene.globe.enableLighting = false;
  scene.globe.showGroundAtmosphere = false;
  scene.globe.maximumScreenSpaceError = 3;
  scene.fog.enabled = false;
  scene.skyAtmosphere.show = false;
  scene.postProcessStages.fxaa.enabled = false;
  viewer.camera.setView({
    destination: Cesium.Cartesian3.fromDegrees(132.5, 22.0, 4.2e6),
    orientation: { heading: 0.0, pitch: Cesium.Math.toRadians(-58.0), roll: 0.0 },
  });

  let renderStart = 0;
  scene.preRender.addEventListener(() => {
    renderStart = performance.now();
  });
  scene.postRender.addEventListener(() => {
    const now = performance.now();
    stats.renders += 1;
    push(stats.renderMs, now - renderStart);
    const wall = Date.now();
    for (const sent of state.pendingLag) push(stats.displayLagMs, wall - sent);
    state.pendingLag = [];
  });
  let lastRaf = null;
  const raf = (ts) => {
    if (lastRaf !== null) push(stats.rafMs, ts - lastRaf);
    lastRaf = ts;
    requestAnimationFrame(raf);
  };
  requestAnimationFrame(raf);

  const colour = (css, alpha = 1.0) => Cesium.Color.fromCssColorString(css).withAlpha(alpha);

  // --- track layers (primitives: cheap to update every frame) -------------------------
  function makeLayer(name, opts) {
    const layer = {
      name,
      opts,
      points: scene.primitives.add(new Cesium.PointPrimitiveCollection()),
      labels: scene.primitives.add(new Cesium.LabelCollection()),
      trails: scene.primitives.add(new Cesium.PolylineCollection()),
      objs: new Map(),
      show: opts.show !== false,
    };
    setShow(layer, layer.show);
    return layer;
  }
  function setShow(layer, show) {
    layer.show = show;
    layer.points.show = show;
    layer.labels.show = show && layer.opts.labels !== false;
    layer.trails.show = show;
  }
  function clearLayer(layer) {
    layer.points.removeAll();
    layer.labels.removeAll();
    layer.trails.removeAll();
    layer.objs.clear();
  }
  function applyLayer(layer, items) {
    const seen = new Set();
    for (const it of items) {
      seen.add(it.id);
      const pos = new Cesium.Cartesian3(it.r[0], it.r[1], it.r[2]);
      const css = layer.opts.colour(it);
      let g = layer.objs.get(it.id);
      if (g === undefined) {
        g = {
          point: layer.points.add({
            position: pos,
            pixelSize: layer.opts.size,
            color: colour(css),
            outlineColor: Cesium.Color.BLACK,
            outlineWidth: 1,
          }),
          label: null,
          trail: layer.trails.add({
            positions: [pos, pos],
            width: layer.opts.trailWidth,
            material: Cesium.Material.fromType("Color", { color: colour(css, 0.55) }),
            show: false,
          }),
          path: [pos],
          css,
        };
        if (layer.opts.labels !== false) {
          g.label = layer.labels.add({
            position: pos,
            text: layer.opts.text(it),
            font: "12px sans-serif",
            fillColor: colour(css),
            outlineColor: Cesium.Color.BLACK,
            outlineWidth: 3,
            style: Cesium.LabelStyle.FILL_AND_OUTLINE,
            pixelOffset: new Cesium.Cartesian2(8, -8),
            disableDepthTestDistance: Number.POSITIVE_INFINITY,
          });
        }
        layer.objs.set(it.id, g);
      } else {
        g.point.position = pos;
        if (g.css !== css) {
          g.css = css;
          g.point.color = colour(css);
          g.trail.material.uniforms.color = colour(css, 0.55);
          if (g.label) g.label.fillColor = colour(css);
        }
        if (g.label) {
          g.label.position = pos;
          g.label.text = layer.opts.text(it);
        }
        const last = g.path[g.path.length - 1];
        if (Cesium.Cartesian3.distance(last, pos) > 1.0) {
          g.path.push(pos);
          if (g.path.length > TRAIL_POINTS) g.path.shift();
          g.trail.positions = g.path;
          g.trail.show = g.path.length >= 2;
        }
      }
    }
    for (const [id, g] of layer.objs) {
      if (!seen.has(id)) {
        layer.points.remove(g.point);
        if (g.label) layer.labels.remove(g.label);
        layer.trails.remove(g.trail);
        layer.objs.delete(id);
      }
    }
  }

  const systemLayer = makeLayer("system", {
    size: 9,
    trailWidth: 2,
    colour: (it) => KIND[it.kind] || KIND.unknown,
    text: (it) => `GTN ${it.id} · ${it.kind} (${it.nations.join("+")})`,
  });
  const truthLayer = makeLayer("truth", {
    size: 4,
    trailWidth: 1,
    show: false,
    labels: false,
    colour: () => "#ff3df2",
    text: () => "",
  });
  const nationalLayers = {};

  // impact ellipses: 95 % outlines (computed by the server) and predicted points
  const impactLines = scene.primitives.add(new Cesium.PolylineCollection());
  const impactPoints = scene.primitives.add(new Cesium.PointPrimitiveCollection());
  let impactShow = true;
  function applyImpacts(items) {
    impactLines.removeAll();
    impactPoints.removeAll();
    for (const it of items) {
      const imp = it.impact;
      if (!imp || !imp.outline) continue;
      const ring = imp.outline.concat(imp.outline.slice(0, 2));
      impactLines.add({
        positions: Cesium.Cartesian3.fromDegreesArray(ring),
        width: 2,
        material: Cesium.Material.fromType("Color", { color: colour("#ff9f1a", 0.95) }),
      });
      impactPoints.add({
        position: Cesium.Cartesian3.fromDegrees(imp.lon, imp.lat),
        pixelSize: 6,
        color: colour("#ff9f1a"),
        outlineColor: Cesium.Color.BLACK,
        outlineWidth: 1,
      });
    }
    impactLines.show = impactShow;
    impactPoints.show = impactShow;
  }

  // --- sensors, fans and regions (entities: static or rarely changed) ---------------
  const sensorEntities = [];
  const fanEntities = [];
  const regionEntities = new Map();
  function showSensors(sites) {
    for (const s of sites) {
      const css = NATION[s.nation] || "#ffffff";
      sensorEntities.push(
        viewer.entities.add({
          id: `sensor:${s.id}`,
          position: Cesium.Cartesian3.fromDegrees(s.lon, s.lat, s.alt_m),
          point: { pixelSize: 7, color: colour(css), outlineColor: Cesium.Color.BLACK, outlineWidth: 1 },
          label: {
            text: s.id,
            font: "11px sans-serif",
            fillColor: colour(css),
            outlineColor: Cesium.Color.BLACK,
            outlineWidth: 3,
            style: Cesium.LabelStyle.FILL_AND_OUTLINE,
            pixelOffset: new Cesium.Cartesian2(6, 6),
            distanceDisplayCondition: new Cesium.DistanceDisplayCondition(0, 4.0e6),
          },
        }),
      );
      s.fans.forEach((ring, k) => {
        const closed = ring.concat(ring.slice(0, 2));
        fanEntities.push(
          viewer.entities.add({
            id: `fan:${s.id}:${k}`,
            polygon: {
              hierarchy: Cesium.Cartesian3.fromDegreesArray(ring),
              height: 0,
              material: colour(css, 0.06),
            },
            polyline: {
              positions: Cesium.Cartesian3.fromDegreesArray(closed),
              width: 1,
              material: colour(css, 0.45),
            },
          }),
        );
      });
    }
    scene.requestRender();
  }
  let regionShow = true;
  function addRegions(regions) {
    for (const [code, r] of Object.entries(regions || {})) {
      if (regionEntities.has(code)) continue;
      const ents = r.rings.map((ring, k) =>
        viewer.entities.add({
          id: `region:${code}:${k}`,
          name: r.name,
          polygon: {
            hierarchy: Cesium.Cartesian3.fromDegreesArray(ring),
            height: 0,
            material: colour("#f85149", 0.45),
            show: false,
          },
        }),
      );
      regionEntities.set(code, { name: r.name, ents });
    }
  }
  function shadeRegions() {
    for (const [code, r] of regionEntities) {
      for (const e of r.ents) e.polygon.show = regionShow && state.active.has(code);
    }
  }

  // --- panels -------------------------------------------------------------------
  const pad = (n) => String(n).padStart(2, "0");
  function clockText(t) {
    const h = state.hello;
    if (!h) return ["—", "—"];
    const utc = new Date(Date.parse(h.epoch_utc) + t * 1000);
    const utcText =
      `${utc.getUTCFullYear()}-${pad(utc.getUTCMonth() + 1)}-${pad(utc.getUTCDate())} ` +
      `${pad(utc.getUTCHours())}:${pad(utc.getUTCMinutes())}:${pad(utc.getUTCSeconds())} UTC`;
    const rel = t - h.launch_time_s;
    const a = Math.abs(Math.round(rel));
    const tplus = `T${rel < 0 ? "−" : "+"}${Math.floor(a / 60)}:${pad(a % 60)}`;
    return [utcText, tplus];
  }
  function regionName(code) {
    const r = regionEntities.get(code);
    return r ? r.name : code;
  }
  function addAlerts(alerts) {
    for (const a of alerts) {
      state.alerts.push(a);
      state.active = new Set(a.active);
      const li = document.createElement("li");
      li.className = a.action;
      const [utc, tplus] = clockText(a.t_s);
      const where = a.regions.length ? a.regions.map(regionName).join(", ") : "";
      li.innerHTML = "";
      const when = document.createElement("div");
      when.className = "when";
      when.textContent = `${tplus} · ${utc} · ${a.action.replace("_", " ")}`;
      const head = document.createElement("div");
      head.className = "headline";
      head.textContent = a.headline + (where ? ` — ${where}` : "");
      const desc = document.createElement("div");
      desc.textContent = a.description;
      li.append(when, head, desc);
      $("alert-list").prepend(li);
    }
    $("alert-count").textContent = String(state.alerts.length);
    shadeRegions();
  }

  // --- the stream ----------------------------------------------------------------
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`);
  const send = (action, value) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "control", action, value }));
  };
  ws.onopen = () => {
    $("status").textContent = "connected";
  };
  ws.onclose = () => {
    $("status").textContent = stats.ended ? "run ended; connection closed" : "disconnected — reload to reconnect";
  };
  ws.onmessage = (ev) => {
    const t0 = performance.now();
    stats.messages += 1;
    stats.bytes += ev.data.length;
    let msg;
    try {
      msg = JSON.parse(ev.data);
    } catch (e) {
      console.warn("trilink: a message that is not JSON", e);
      return;
    }
    switch (msg.type) {
      case "hello":
        onHello(msg);
        break;
      case "sensors":
        showSensors(msg.sites);
        break;
      case "frame":
        onFrame(msg, t0);
        break;
      case "reset":
        for (const layer of [systemLayer, truthLayer, ...Object.values(nationalLayers)]) clearLayer(layer);
        state.alerts = [];
        state.active = new Set();
        $("alert-list").replaceChildren();
        shadeRegions();
        break;
      case "end":
        stats.ended = true;
        $("status").textContent = `run ended at ${clockText(msg.t_s)[1]}`;
        break;
      case "error":
        stats.serverErrors.push(msg.message);
        console.warn(`trilink server: ${msg.message}`);
        break;
      default:
        console.warn(`trilink: unknown message type ${msg.type}`);
    }
  };

  function onHello(h) {
    state.hello = h;
    $("view").textContent = h.view === "HUB" ? "hub view" : `as ${h.view}`;
    $("scenario").textContent = `${h.scenario} · ${h.mode}${h.view !== "HUB" ? ` · ${h.view}'s release stream` : ""}`;
    const seek = $("seek");
    seek.min = String(h.t_start_s);
    seek.max = String(h.t_end_s);
    setSpeed(h.speed);
    const box = $("national-toggles");
    box.replaceChildren();
    for (const n of h.nations) {
      nationalLayers[n] = makeLayer(`national:${n}`, {
        size: 6,
        trailWidth: 1,
        show: n === h.view,
        colour: () => NATION[n] || "#ffffff",
        text: (it) => `${n} ${it.id}`,
      });
      const label = document.createElement("label");
      label.innerHTML = `<input type="checkbox" data-layer="national:${n}"${n === h.view ? " checked" : ""}> <span class="swatch" style="background:${NATION[n] || "#fff"}"></span>${n} national tracks`;
      box.append(label);
    }
    $("truth-toggle").hidden = !h.truth;
    $("withheld").textContent = h.withheld.length
      ? `withheld by the policy: ${h.withheld.map((w) => w.what).join(", ")}`
      : "";
    wireToggles();
  }

  function setSpeed(speed) {
    state.speed = speed;
    const sel = $("speed");
    const v = String(speed);
    if (![...sel.options].some((o) => o.value === v)) {
      const o = document.createElement("option");
      o.value = v;
      o.textContent = speed === "max" ? "max" : `×${speed}`;
      sel.append(o);
    }
    sel.value = v;
  }

  function onFrame(f, t0) {
    stats.frames += 1;
    push(stats.frameLog, [t0, f.t_s, f.wall_ms]);
    push(stats.transportMs, Date.now() - f.wall_ms);
    state.t = f.t_s;
    state.paused = f.paused;
    if (f.speed !== state.speed) setSpeed(f.speed);
    applyLayer(systemLayer, f.system);
    applyImpacts(f.system);
    for (const [n, items] of Object.entries(f.national)) {
      if (nationalLayers[n]) applyLayer(nationalLayers[n], items);
    }
    applyLayer(truthLayer, f.truth);
    addRegions(f.regions);
    if (f.alerts.length) addAlerts(f.alerts);
    if (czmlSource) syncClock(f.t_s);
    const [utc, tplus] = clockText(f.t_s);
    $("utc").textContent = utc;
    $("tplus").textContent = tplus;
    $("play").textContent = f.paused ? "play" : "pause";
    if (!state.dragging) $("seek").value = String(f.t_s);
    const nNat = Object.values(f.national).reduce((s, x) => s + x.length, 0);
    $("tracks-summary").textContent = `${f.system.length} fused track(s), ${nNat} national, t = ${f.t_s.toFixed(0)} s`;
    if (stats.firstFrame === null) stats.firstFrame = { t_s: f.t_s, at: performance.now() };
    if (stats.firstFused === null && f.system.length > 0) {
      stats.firstFused = { t_s: f.t_s, gtn: f.system[0].id, kind: f.system[0].kind, at: performance.now() };
    }
    state.pendingLag.push(f.wall_ms);
    push(stats.applyMs, performance.now() - t0);
    scene.requestRender();
  }

  // --- controls ------------------------------------------------------------------
  $("play").addEventListener("click", () => send(state.paused ? "play" : "pause"));
  $("speed").addEventListener("change", (e) => {
    const v = e.target.value;
    send("speed", v === "max" ? "max" : Number(v));
  });
  const seek = $("seek");
  seek.addEventListener("pointerdown", () => {
    state.dragging = true;
  });
  seek.addEventListener("change", () => {
    state.dragging = false;
    send("seek", Number(seek.value));
  });
  function wireToggles() {
    for (const box of document.querySelectorAll("input[data-layer]")) {
      box.onchange = () => {
        const name = box.dataset.layer;
        const on = box.checked;
        if (name === "system") setShow(systemLayer, on);
        else if (name === "truth") setShow(truthLayer, on);
        else if (name.startsWith("national:")) setShow(nationalLayers[name.slice(9)], on);
        else if (name === "impact") {
          impactShow = on;
          impactLines.show = on;
          impactPoints.show = on;
        } else if (name === "sensors") for (const e of sensorEntities) e.show = on;
        else if (name === "fans") for (const e of fanEntities) e.show = on;
        else if (name === "regions") {
          regionShow = on;
          shadeRegions();
        }
        else if (name === "czml") showCzml(on);
        scene.requestRender();
      };
    }
  }

  // --- the whole run as CZML (trilink.export.czml, served as /picture.czml) ------------
  // Time-tagged entities: the viewer's clock follows the stream's scenario time.
  let czmlSource = null;
  function syncClock(t) {
    if (!state.hello) return;
    viewer.clock.currentTime = Cesium.JulianDate.fromDate(
      new Date(Date.parse(state.hello.epoch_utc) + t * 1000),
    );
  }
  function showCzml(on) {
    if (czmlSource) {
      czmlSource.show = on;
      scene.requestRender();
      return;
    }
    if (!on) return;
    Cesium.CzmlDataSource.load("picture.czml")
      .then((ds) => {
        czmlSource = ds;
        viewer.dataSources.add(ds);
        stats.czmlEntities = ds.entities.values.length;
        syncClock(state.t);
        scene.requestRender();
      })
      .catch((e) => {
        stats.serverErrors.push(`picture.czml: ${e}`);
        $("status").textContent = `CZML layer failed: ${e}`;
      });
  }

  window.trilink = { stats, state, viewer, send, showCzml, syncClock };
})();
