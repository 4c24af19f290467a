// Requests to the glcic API (/api/v1) and how their answers read to a person.
//
// The page is served from the same origin as the API, so these are plain fetches
// without CORS. An inpaint request is multipart: the image file exactly as it was
// opened, the mask PNG (white = hole) and the options as form fields. A failed request
// becomes a RequestError whose message is the sentence the page shows: the server's
// status, error code and `detail`, or why the server could not be reached.

const API = "/api/v1";

/** A request that failed; `message` is meant for the status line. */
export class RequestError extends Error {}

/**
 * The server's limits (GET /health) and models (GET /models).
 * @returns {Promise<{limits: object|null, models: object[]}>} limits as
 *   `{max_upload_bytes, max_pixels, ...}`; models as `{name, default, description,
 *   resolution, license, ...}`, possibly empty.
 */
export async function fetchServerInfo() {
  const [health, models] = await Promise.all([
    fetch(`${API}/health`).then((r) => r.json()),
    fetch(`${API}/models`).then((r) => r.json()),
  ]);
  return { limits: health.limits || null, models: models.models || [] };
}

/**
 * POST /inpaint.
 * @param {{image: Blob, name: string, mask: Blob, model: string, postprocess: string,
 *          method: string, strategy: string}} request `model` "" leaves the choice to the
 *   server's default.
 * @returns {Promise<{blob: Blob, ran: string}>} the completed PNG, and what ran (see whatRan).
 * @throws {RequestError} the server could not be reached or answered an error.
 */
export async function inpaint({ image, name, mask, model, postprocess, method, strategy }) {
  const form = new FormData();
  form.append("image", image, name);
  form.append("mask", mask, "mask.png");
  // No list from the server (it could not be read): leave the choice to the server's default.
  if (model) form.append("model", model);
  form.append("postprocess", postprocess);
  form.append("method", method);
  form.append("strategy", strategy);
  let response;
  try {
    response = await fetch(`${API}/inpaint`, { method: "POST", body: form });
  } catch (err) {
    throw new RequestError(`Could not reach the server (${err.message}). Is glcic serve still running?`);
  }
  if (!response.ok) throw new RequestError(await describeError(response));
  const blob = await response.blob();
  return { blob, ran: whatRan(response.headers) };
}

// " with glcic-face64-celeba (strategy tiles, scale 1)": what the server says it ran.
function whatRan(headers) {
  const model = headers.get("X-Glcic-Model");
  if (!model) return "";
  const strategy = headers.get("X-Glcic-Strategy");
  const scale = headers.get("X-Glcic-Scale");
  const how = [];
  if (strategy && strategy !== "none") how.push(`strategy ${strategy}`);
  if (scale && strategy !== "none") how.push(`scale ${Number(scale).toPrecision(3).replace(/\.?0+$/, "")}`);
  return ` with ${model}` + (how.length ? ` (${how.join(", ")})` : "");
}

// "Error 422 (invalid_option): postprocess must be one of ...": the server's JSON error
// body, or the HTTP status text when the body is not JSON.
async function describeError(response) {
  let body = null;
  try {
    body = await response.json();
  } catch (_) {
    // not JSON: a proxy's page, say
  }
  const what = body && body.detail ? body.detail : response.statusText || "no explanation";
  const code = body && body.error ? body.error : "error";
  const retry = response.headers.get("Retry-After");
  return `Error ${response.status} (${code}): ${what}` + (retry ? ` Retry in ${retry} s.` : "");
}
