// Swagger UI on this service's OpenAPI document. validatorUrl null: no badge fetched from
// validator.swagger.io; BaseLayout: no top bar inviting to load a document from elsewhere.
// The document's description is BentoML's default README, whose badges are images on
// img.shields.io and others: it is replaced by ours, and any remote image left is dropped.
const DESCRIPTION = "Service **hardtofill** : probabilité qu'une offre d'emploi reste plus de 30 jours " +
  "sans être pourvue, avec ses raisons et des conseils. Le score vient d'un algorithme : c'est un " +
  "conseil, le conseiller décide. Les routes de données demandent `Authorization: Bearer <clé>`.";

function localOnly(spec) {
  const info = spec.info || (spec.info = {});
  const text = info.description || "";
  info.description = /created with BentoML/.test(text) ? DESCRIPTION
    : text.replace(/!\[[^\]]*\]\((?!\.?\/)[^)]*\)/g, "").replace(/\[\]\([^)]*\)/g, "");
  return spec;
}

window.addEventListener("load", async function () {
  const answer = await fetch("./docs.json");
  window.ui = SwaggerUIBundle({
    spec: localOnly(await answer.json()),
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
