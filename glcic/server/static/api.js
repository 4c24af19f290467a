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
 * The server's limits (GET /health), models (GET /models) and methods (GET /methods).
 * @returns {Promise<{limits: object|null, models: object[], methods: object[]}>} limits as
 *   `{max_upload_bytes, max_pixels, ...}`; models as `{name, default, summary, description,
 *   resolution, license, ...}`, possibly empty; methods as `{name, label, kind, default}`,
 *   empty when the server does not list them.
 */
export async function fetchServerInfo() {
  const [health, models, methods] = await Promise.all([
    fetch(`${API}/health`).then((r) => r.json()),
    fetch(`${API}/models`).then((r) => r.json()),
    fetch(`${API}/methods`).then((r) => (r.ok ? r.json() : {})).catch(() => ({})),
  ]);
  return { limits: health.limits || null, models: models.models || [], methods: methods.methods || [] };
}

/**
 * POST /inpaint.
 * @param {{image: Blob, name: string, mask: Blob, model: string, postprocess: string,
 *          method: string, strategy: string, format: string, stripMetadata: boolean}} request
 *   `model` "" leaves the choice to the server's default; `format` "input" answers in the
 *   image's format.
 * @returns {Promise<{blob: Blob, filename: string, ran: string}>} the completed image, the
 *   file name the server gives it ("" if none) and what ran (see whatRan).
 * @throws {RequestError} the server could not be reached or answered an error.
 */
export async function inpaint({ image, name, mask, model, postprocess, method, strategy, format, stripMetadata }) {
  const form = new FormData();
  form.append("image", image, name);
  form.append("mask", mask, "mask.png");
  // No list from the server (it could not be read): leave the choice to the server's default.
  if (model) form.append("model", model);
  form.append("postprocess", postprocess);
  form.append("method", method);
  form.append("strategy", strategy);
  if (format) form.append("format", format);
  if (stripMetadata) form.append("strip_metadata", "true");
  let response;
  try {
    response = await fetch(`${API}/inpaint`, { method: "POST", body: form });
  } catch (err) {
    throw new RequestError(`Could not reach the server (${err.message}). Is glcic serve still running?`);
  }
  if (!response.ok) throw new RequestError(await describeError(response));
  const blob = await response.blob();
  return { blob, filename: attachmentName(response.headers), ran: whatRan(response.headers) };
}

// The file name of Content-Disposition: filename*=UTF-8''... when given, else filename="...".
function attachmentName(headers) {
  const value = headers.get("Content-Disposition") || "";
  const star = /filename\*=UTF-8''([^;]+)/i.exec(value);
  if (star) {
    try {
      return decodeURIComponent(star[1]);
    } catch (_) {
      // malformed: fall back to the plain name
    }
  }
  const plain = /filename="([^"]*)"/i.exec(value);
  return plain ? plain[1] : "";
}

// " with glcic-face64-celeba (strategy tiles, scale 1)": what the server says it ran.
function whatRan(headers) {
  const model = headers.get("X-Glcic-Model");
  if (!model) return "";
  const strategy = headers.get("X-Glcic-Strategy");
  const scale = headers.get("X-Glcic-Scale");
  const how = [];
  if (strategy && strategy !== "none") how.push(`strategy ${strategy}`);
  const post = headers.get("X-Glcic-Postprocess");
  if (post && post !== "none") how.push(`post-processing ${post}`);
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
