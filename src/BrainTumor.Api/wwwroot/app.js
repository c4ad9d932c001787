// The viewer: sends slices to this server's /predict and /gradcam and shows the answers. Nothing is sent anywhere else
// (the server's Content-Security-Policy enforces it).
"use strict";

const $ = (id) => document.getElementById(id);

const state = {
  models: [],
  files: [],          // { file, url, prediction, maps: Map("class|view" -> object URL) }
  current: -1,
  explained: null,    // the class whose map is shown
  apiKey: sessionStorage.getItem("braintumor.apiKey") || "",
};

/** A problem+json answer, or a network failure, as one sentence for a person. */
class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(path, options = {}) {
  const headers = new Headers(options.headers || {});
  if (state.apiKey) headers.set("X-API-Key", state.apiKey);
  let response;
  try {
    response = await fetch(path, { ...options, headers });
  } catch (failure) {
    throw new ApiError(0, `The server could not be reached (${failure.message}).`);
  }
  if (response.ok) return response;
  if (response.status === 401) $("key-form").hidden = false;
  throw new ApiError(response.status, await problemSentence(response));
}

async function problemSentence(response) {
  let title = `The server answered ${response.status}`;
  let detail = "";
  try {
    const problem = await response.json();
    title = problem.title || title;
    detail = problem.detail || "";
  } catch {
    // Not problem+json (a proxy's page, for example): the status says enough.
  }
  let sentence = detail ? `${title}: ${detail}` : `${title}.`;
  const retry = response.headers.get("Retry-After");
  if (response.status === 503 && retry) sentence += ` Try again in ${retry} s.`;
  return sentence;
}

function showError(message) {
  $("error").textContent = message;
}

function percent(p) {
  return `${(100 * p).toFixed(1)}%`;
}

function labelText(label) {
  return label.replace(/_tumor$/, "").replace(/^no$/, "no tumour").replace(/_/g, " ");
}

// ---- models ----

async function loadModels() {
  try {
    const response = await api("models");
    state.models = await response.json();
  } catch (error) {
    if (error.status === 401) {
      $("key-form").hidden = false;
      showError("This server needs an API key before it answers.");
      return;
    }
    showError(error.message);
    return;
  }
  $("key-form").hidden = true;
  showError("");
  const select = $("model");
  select.replaceChildren(...state.models.map((model, i) => {
    const option = document.createElement("option");
    option.value = model.name;
    option.textContent = i === 0 ? `${model.name} (default)` : model.name;
    return option;
  }));
  select.disabled = false;
  describeModel();
}

function selectedModel() {
  return state.models.find((m) => m.name === $("model").value);
}

/** How far to trust the model: its measured accuracies, from its manifest. */
function describeModel() {
  const model = selectedModel();
  if (!model) return;
  const parts = [`${model.name} ${model.version}`];
  if (model.crossValidation) {
    const cv = model.crossValidation;
    const folds = cv.foldsDone < cv.folds ? `${cv.foldsDone} of ${cv.folds} folds done` : `${cv.folds} folds`;
    parts.push(`cross-validation accuracy ${cv.accuracy.toFixed(3)} ± ${cv.accuracyStd.toFixed(3)} (${folds})`);
  }
  if (model.metrics) parts.push(`hold-out accuracy ${model.metrics.accuracy.toFixed(3)} (${model.metrics.images} training-source images)`);
  if (model.external) {
    parts.push(`accuracy on images from other sources ${model.external.accuracy.toFixed(3)} (${model.external.images} images;` +
      ` ${model.external.tumoursMissed} tumours called no tumour)`);
  }
  let text = parts.join("; ") + ".";
  // The main caveat first: a tumour class this model mostly misses on images from other sources.
  const missed = (model.external?.perClass || [])
    .filter((c) => c.label !== "no_tumor" && c.support > 0 && c.recall < 0.7)
    .map((c) => `${Math.round(c.recall * c.support)} of ${c.support} ${labelText(c.label)}s`);
  if (missed.length > 0) text = `On images from other sources it found only ${missed.join(" and ")}. ` + text;
  // The page asks for the model's default map method, the one that passed most of its checks.
  const methodNames = { gradcam: "Grad-CAM", hirescam: "HiResCAM", gradcampp: "Grad-CAM++" };
  const method = methodNames[model.defaultCamMethod] || model.defaultCamMethod;
  const checks = (model.gradCamChecks || []).find((c) => c.method === model.defaultCamMethod);
  if (checks && !checks.passed) {
    text += ` Its ${method} maps failed a sanity check: ${checks.failures.join("; ")}. Read them with care.`;
  }
  // How often the maps land on the lesion, measured on hand-boxed held-out slices: a map off the lesion is common, not rare.
  const pointing = (model.pointingGame || []).find((p) => p.method === model.defaultCamMethod);
  if (pointing) {
    const percent = (x) => `${Math.round(x * 100)}%`;
    text += ` Its ${method} maps peak on the lesion in ${percent(pointing.hitRate)} of ${pointing.images} hand-boxed held-out slices` +
      ` (95% interval ${percent(pointing.low)}-${percent(pointing.high)}).`;
  }
  $("model-trust").textContent = text;
}

// ---- files ----

function addFiles(fileList) {
  const added = [...fileList].map((file) => ({ file, url: URL.createObjectURL(file), prediction: null, maps: new Map() }));
  if (added.length === 0) return;
  state.files.push(...added);
  renderFileList();
  show(state.files.length - added.length);
}

function renderFileList() {
  $("file-nav").hidden = state.files.length === 0;
  $("file-list").replaceChildren(...state.files.map((entry, i) => {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = `${i + 1}. ${entry.file.name}`;
    button.setAttribute("aria-current", String(i === state.current));
    button.addEventListener("click", () => show(i));
    item.append(button);
    return item;
  }));
  $("previous").disabled = state.current <= 0;
  $("next").disabled = state.current >= state.files.length - 1;
}

async function show(index) {
  state.current = index;
  renderFileList();
  const entry = state.files[index];
  showError("");
  $("answer").hidden = true;
  $("explanation").hidden = true;
  try {
    if (!entry.prediction || entry.prediction.model !== $("model").value) {
      entry.maps.clear();
      entry.prediction = await predict(entry.file);
    }
    if (isDicom(entry.file) && !entry.rendered) {
      entry.url = await renderedByServer(entry.file);
      entry.rendered = true;
    }
    $("original").src = entry.url;
    $("map-base").src = entry.url;
    renderAnswer(entry.prediction);
    state.explained = entry.prediction.label;
    renderClassChoices(entry.prediction);
    $("explanation").hidden = false;
    await showMap();
  } catch (error) {
    showError(error.message);
  }
}

/** A browser cannot show DICOM: the server renders it with the window it used (an overlay with no heatmap). */
function isDicom(file) {
  return file.type === "application/dicom" || /\.dcm$/i.test(file.name);
}

async function renderedByServer(file) {
  const response = await api(`gradcam?model=${encodeURIComponent($("model").value)}&output=overlay&alpha=0&annotate=false`, { method: "POST", body: form(file) });
  return URL.createObjectURL(await response.blob());
}

function form(file) {
  const body = new FormData();
  body.append("image", file, file.name);
  return body;
}

async function predict(file) {
  $("status").textContent = "Classifying…";
  const started = performance.now();
  try {
    const response = await api(`predict?model=${encodeURIComponent($("model").value)}`, { method: "POST", body: form(file) });
    const prediction = await response.json();
    prediction.roundTripMs = performance.now() - started;
    return prediction;
  } finally {
    $("status").textContent = "";
  }
}

function renderAnswer(prediction) {
  $("label").textContent = labelText(prediction.label);
  $("confidence").textContent = `${percent(prediction.confidence)} (calibrated confidence)`;
  $("timing").textContent = `${prediction.model} ${prediction.modelVersion}: answered in ${Math.round(prediction.roundTripMs)} ms ` +
    `(model ${prediction.timings.inferenceMs.toFixed(1)} ms); image ${prediction.image.width}x${prediction.image.height}.`;
  const rows = [];
  for (const [label, p] of Object.entries(prediction.probabilities)) {
    const name = document.createElement("span");
    name.textContent = labelText(label);
    const bar = document.createElement("div");
    bar.className = "bar";
    bar.setAttribute("role", "img");
    bar.setAttribute("aria-label", `${labelText(label)} ${percent(p)}`);
    const fill = document.createElement("span");
    fill.style.width = percent(p);
    bar.append(fill);
    const value = document.createElement("span");
    value.textContent = percent(p);
    value.dataset.label = label;
    if (label === prediction.label) [name, value].forEach((e) => e.classList.add("predicted"));
    rows.push(name, bar, value);
  }
  $("bars").replaceChildren(...rows);
  const dicom = prediction.dicom;
  $("dicom-info").hidden = !dicom;
  $("dicom-warning").hidden = !dicom?.warning;
  if (dicom) {
    const windowText = dicom.window ? `window ${dicom.window.center}/${dicom.window.width} (${dicom.window.source})` : "colour image";
    $("dicom-info").textContent = `DICOM: ${dicom.transferSyntax}, frame ${dicom.frame} of ${dicom.frames}, ${windowText}.`;
    $("dicom-warning").textContent = dicom.warning || "";
  }
  const guard = prediction.inDistribution;
  $("ood-warning").hidden = !guard || guard.ok;
  $("ood-warning").textContent = guard && !guard.ok
    ? `This image does not look like the brain MRI slices ${prediction.model} was trained on. ${guard.reason} Do not trust the answer below.`
    : "";
  $("answer").hidden = false;
}

// ---- explanation ----

function renderClassChoices(prediction) {
  $("classes").replaceChildren(...Object.keys(prediction.probabilities).map((label) => {
    const wrapper = document.createElement("label");
    const radio = document.createElement("input");
    radio.type = "radio";
    radio.name = "class";
    radio.value = label;
    radio.checked = label === state.explained;
    radio.addEventListener("change", () => {
      state.explained = label;
      showMap().catch((error) => showError(error.message));
    });
    wrapper.append(radio, ` ${labelText(label)}${label === prediction.label ? " (the answer)" : ""}`);
    return wrapper;
  }));
}

function currentView() {
  return document.querySelector("input[name=view]:checked").value;
}

/** The map of the explained class in the chosen view: overlay and heatmap share the server's colour map. */
async function showMap() {
  const entry = state.files[state.current];
  const view = currentView();
  const output = view === "mask" ? "mask" : "heatmap";
  const key = `${state.explained}|${output}`;
  if (!entry.maps.has(key)) {
    $("status").textContent = `Computing the map for ${labelText(state.explained)}…`;
    try {
      // The page draws its own legend, so the pictures come without the server's.
      const query = `model=${encodeURIComponent($("model").value)}&class=${encodeURIComponent(state.explained)}&output=${output}&annotate=false`;
      const response = await api(`gradcam?${query}`, { method: "POST", body: form(entry.file) });
      entry.maps.set(key, URL.createObjectURL(await response.blob()));
    } finally {
      $("status").textContent = "";
    }
  }
  if (entry !== state.files[state.current]) return;
  const map = $("map");
  map.src = entry.maps.get(key);
  map.alt = `Grad-CAM ${view} for ${labelText(state.explained)}`;
  map.dataset.class = state.explained;
  document.querySelector(".stack").classList.toggle("alone", view !== "overlay");
  applyOpacity();
  $("map-caption").textContent = `Grad-CAM ${view} for ${labelText(state.explained)}`;
}

function applyOpacity() {
  const value = Number($("opacity").value);
  $("opacity-value").textContent = `${value}%`;
  $("map").style.opacity = String(value / 100);
}

// ---- wiring ----

function wire() {
  $("file").addEventListener("change", (event) => {
    addFiles(event.target.files);
    event.target.value = "";
  });
  const drop = $("drop");
  drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    addFiles(event.dataTransfer.files);
  });
  $("previous").addEventListener("click", () => show(state.current - 1));
  $("next").addEventListener("click", () => show(state.current + 1));
  $("opacity").addEventListener("input", applyOpacity);
  document.querySelectorAll("input[name=view]").forEach((radio) =>
    radio.addEventListener("change", () => showMap().catch((error) => showError(error.message))));
  $("model").addEventListener("change", () => {
    describeModel();
    if (state.current >= 0) show(state.current);
  });
  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    state.apiKey = $("api-key").value.trim();
    sessionStorage.setItem("braintumor.apiKey", state.apiKey);
    loadModels();
  });
}

wire();
loadModels();
