// JSON over fetch with errors that carry the server's `error` code and `message`.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export async function postJson(url, body) {
  let res;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, 'network', 'We could not reach the server. Check your connection and try again.');
  }
  let data = {};
  if (res.status !== 204) {
    try {
      data = await res.json();
    } catch {
      // not JSON: handled below
    }
  }
  if (!res.ok) {
    throw new ApiError(res.status, data.error ?? 'http', data.message ?? `The server answered ${res.status}.`);
  }
  return data;
}
