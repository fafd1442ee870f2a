// The adviser's page: one file, no framework, no key in the code. The API key the adviser pastes
// is kept in sessionStorage (this tab only) and sent as "Authorization: Bearer <key>".
"use strict";

const KEY_STORAGE = "hardtofill.apiKey";
const MAX_BATCH = 1000; // the service refuses more per request (413); larger files are split
const $ = (id) => document.getElementById(id);
let codes = { actions: {}, reasons: {} };
let codesReady = Promise.resolve();

function apiKey() { return sessionStorage.getItem(KEY_STORAGE) || ""; }

function setStatus(text, isError = false) {
  const status = $("status");
  status.textContent = text;
  status.className = isError ? "error" : "";
}

function percent(p) { return Math.round(p * 100) + " %"; }

async function call(path, body, headers = {}) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", "Authorization": "Bearer " + apiKey(), ...headers },
    body: JSON.stringify(body),
  });
  let data = null;
  try { data = await response.json(); } catch (e) { data = null; }
  if (!response.ok) {
    if (response.status === 401) throw new Error("Clé d'API refusée : vérifiez la clé (étape 1).");
    const message = data && (data.error || JSON.stringify(data.detail)) || response.statusText;
    const failure = new Error(`Erreur ${response.status} : ${message}`);
    failure.refused = (data && data.refused) || [];
    throw failure;
  }
  return data;
}

// Accept one offer, a list of offers, {"offers": [...]}, or an API search answer {"resultats": [...]}.
function offersFrom(text) {
  const parsed = JSON.parse(text);
  if (Array.isArray(parsed)) return parsed;
  if (parsed && Array.isArray(parsed.offers)) return parsed.offers;
  if (parsed && Array.isArray(parsed.resultats)) return parsed.resultats;
  if (parsed && typeof parsed === "object") return [parsed];
  throw new Error("le JSON ne contient pas d'offre");
}

function showModel(answer) {
  if (answer.model) $("model").textContent = `Modèle : ${answer.model.name}, version ${answer.model.version}`;
  if (answer.notice) $("notice").textContent = answer.notice;
}

function option(select, value, label) {
  const element = document.createElement("option");
  element.value = value;
  element.textContent = label;
  select.appendChild(element);
}

function item(list, text, extra) {
  const li = document.createElement("li");
  li.textContent = text;
  if (extra) {
    const span = document.createElement("span");
    span.className = "gain";
    span.textContent = " " + extra;
    li.appendChild(span);
  }
  list.appendChild(li);
}

function render(results, model) {
  const list = $("results");
  list.replaceChildren();
  const sorted = [...results].sort((a, b) => b.probability - a.probability);
  const counts = { high: 0, medium: 0, low: 0 };
  for (const result of sorted) {
    counts[result.risk] += 1;
    const node = $("offer-template").content.firstElementChild.cloneNode(true);
    node.classList.add(result.risk);
    node.dataset.offerId = result.offer_id;
    node.querySelector(".band").textContent = "Risque " + result.risk_label;
    node.querySelector(".probability").textContent = percent(result.probability);
    node.querySelector(".probability").title = "Probabilité de ne pas être pourvue en 30 jours";
    node.querySelector(".offer-id").textContent = result.offer_id;
    node.querySelector(".title").textContent = result.title || "";
    const factors = node.querySelector(".factors");
    for (const factor of result.factors) item(factors, factor.sentence);
    if (!result.factors.length) item(factors, "Raisons non disponibles (score d'une autre version du modèle).");
    const advice = node.querySelector(".advice");
    if (result.recommendations === undefined) {
      item(advice, "Évaluez à nouveau l'offre pour obtenir des conseils.");
    } else if (!result.recommendations.length) {
      item(advice, "Aucun changement simulé ne réduit nettement le risque.");
    } else {
      for (const r of result.recommendations) item(advice, r.sentence, `→ ${percent(r.probability)} si c'est fait`);
    }
    const form = node.querySelector("form");
    const action = form.elements.action, reason = form.elements.reason_code;
    option(action, "", "— choisir —");
    for (const [code, label] of Object.entries(codes.actions)) option(action, code, label);
    option(reason, "", "—");
    for (const [code, label] of Object.entries(codes.reasons)) option(reason, code, label);
    form.addEventListener("submit", (event) => recordFeedback(event, result, model));
    list.appendChild(node);
  }
  $("summary").textContent = `${sorted.length} offre(s) : ${counts.high} à risque élevé, ` +
    `${counts.medium} à risque moyen, ${counts.low} à risque faible.`;
}

// One Idempotency-Key per feedback: sending the same form again (a retry after an error, a double
// click) reuses it, so the store keeps one row; a changed choice is a new feedback with a new key.
function newUuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));  // pages served over plain http
  b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function feedbackKey(form, body) {
  const sent = JSON.stringify(body);
  if (form.dataset.feedbackBody !== sent) {
    form.dataset.feedbackBody = sent;
    form.dataset.feedbackKey = newUuid();
  }
  return form.dataset.feedbackKey;
}

// Refused offers, by their position in the adviser's file (n° 1 is the first offer), with every
// faulty field: built as text nodes, so nothing from the file is ever read as HTML.
function renderRefused(refused) {
  const panel = $("refused-panel"), list = $("refused");
  list.replaceChildren();
  panel.hidden = !refused.length;
  for (const offer of [...refused].sort((a, b) => a.index - b.index)) {
    const li = document.createElement("li");
    li.dataset.index = offer.index;
    const head = document.createElement("strong");
    head.textContent = `Offre n° ${offer.index + 1} du fichier` + (offer.offer_id ? ` (id ${offer.offer_id})` : " (id invalide)");
    li.appendChild(head);
    const fields = document.createElement("ul");
    for (const field of offer.fields) {
      const line = document.createElement("li");
      line.textContent = `${field.field} : ${field.message}`;
      fields.appendChild(line);
    }
    li.appendChild(fields);
    list.appendChild(li);
  }
}

async function recordFeedback(event, result, model) {
  event.preventDefault();
  const form = event.target, done = form.querySelector(".recorded");
  const body = { offer_id: result.offer_id, action: form.elements.action.value, risk: result.risk,
                 model_version: result.model_version || (model && model.version) || null };
  if (!body.action) { done.textContent = "Choisissez une action."; done.className = "recorded error"; return; }
  if (form.elements.reason_code.value) body.reason_code = form.elements.reason_code.value;
  try {
    await call("/feedback", body, { "Idempotency-Key": feedbackKey(form, body) });
    done.textContent = "Enregistré ✓";
    done.className = "recorded";
  } catch (error) {
    done.textContent = error.message;
    done.className = "recorded error";
  }
}

async function scoreOffers(offers) {
  if (!apiKey()) { setStatus("Entrez d'abord la clé d'API (étape 1).", true); return; }
  const buttons = document.querySelectorAll("button");
  buttons.forEach((b) => { b.disabled = true; });
  try {
    const results = [], refused = [];
    let answer = null;
    renderRefused([]);
    for (let start = 0; start < offers.length; start += MAX_BATCH) {
      setStatus(`Évaluation… ${start} / ${offers.length}`);
      try {
        answer = await call("/score", { offers: offers.slice(start, start + MAX_BATCH) });
      } catch (error) {
        if (!error.refused || !error.refused.length) throw error;
        // Every offer of this part was refused: list them and go on with the next part.
        for (const r of error.refused) refused.push({ ...r, index: r.index + start });
        continue;
      }
      for (const r of answer.results) results.push({ ...r, index: r.index + start });
      for (const r of answer.refused || []) refused.push({ ...r, index: r.index + start });
    }
    if (answer) showModel(answer);
    await codesReady;
    render(results, answer && answer.model);
    renderRefused(refused);
    setStatus(`${results.length} offre(s) évaluée(s)` +
              (refused.length ? `, ${refused.length} refusée(s) : voir la liste des offres refusées.` : "."),
              refused.length > 0 && !results.length);
  } catch (error) {
    setStatus(error.message, true);
  } finally {
    buttons.forEach((b) => { b.disabled = false; });
  }
}

async function latest() {
  if (!apiKey()) { setStatus("Entrez d'abord la clé d'API (étape 1).", true); return; }
  try {
    const answer = await call("/latest", { limit: 100 });
    showModel(answer);
    await codesReady;
    render(answer.results, answer.model);
    renderRefused([]);
    setStatus(`${answer.results.length} dernière(s) offre(s) évaluée(s).`);
  } catch (error) {
    setStatus(error.message, true);
  }
}

function start() {
  // Listeners first, so that nothing the adviser does while the page loads is lost.
  $("key-state").textContent = apiKey() ? "Clé enregistrée pour cet onglet." : "";
  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(KEY_STORAGE, $("api-key").value.trim());
    $("api-key").value = "";
    $("key-state").textContent = "Clé enregistrée pour cet onglet.";
  });
  $("score-button").addEventListener("click", () => {
    let offers;
    try { offers = offersFrom($("offers-json").value); } catch (error) {
      setStatus("JSON illisible : " + error.message, true);
      return;
    }
    scoreOffers(offers);
  });
  $("offers-file").addEventListener("change", async (event) => {
    const file = event.target.files[0];
    if (!file) return;
    let offers;
    try { offers = offersFrom(await file.text()); } catch (error) {
      setStatus(`Fichier ${file.name} illisible : ${error.message}`, true);
      return;
    }
    scoreOffers(offers);
  });
  $("latest-button").addEventListener("click", latest);
  codesReady = fetch("/dashboard/codes.json")
    .then((response) => response.json())
    .then((loaded) => { codes = loaded; })
    .catch((error) => setStatus("Codes d'action indisponibles : " + error.message, true));
  fetch("/model_card")
    .then(async (card) => {
      if (card.ok) showModel(await card.json());
      else setStatus("Le service n'a pas de modèle prêt : " + ((await card.json()).error || card.status), true);
    })
    .catch(() => { /* the page still works without the card */ });
}

start();
