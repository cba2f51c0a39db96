// Calls to this API. Paths are relative to the page, which the API itself serves.
let token = "";

export function setToken(value) {
  token = value.trim();
}

// {ok, status, ms, data, error}: never throws, so every caller shows what happened.
export async function call(method, path, body) {
  const headers = {};
  if (body !== undefined) headers["content-type"] = "application/json";
  if (token) headers.authorization = `Bearer ${token}`;
  const payload = body === undefined || typeof body === "string" ? body : JSON.stringify(body);
  const started = performance.now();
  let response;
  try {
    response = await fetch(path, {method, headers, body: payload});
  } catch (err) {
    return {ok: false, status: 0, ms: performance.now() - started, error: `the API did not answer (${err.message})`};
  }
  const text = await response.text();
  const ms = performance.now() - started;
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: errorText shows the start of it
  }
  if (response.ok) return {ok: true, status: response.status, ms, data};
  return {ok: false, status: response.status, ms, data, error: errorText(response.status, data, text)};
}

function errorText(status, data, text) {
  // The functions answer {"error": ...}; API Gateway itself answers {"message": ...}.
  const message = data && (data.error || data.message);
  if (status === 401) return `${message || "Unauthorized"}: this API wants a bearer token (see Access)`;
  return message || `HTTP ${status}: ${text.slice(0, 200)}`;
}
