// Reads an HTTP answer the same way in every test area: the status, the headers, the raw text
// and, when that text is JSON, the parsed body.

/** `{ status, headers, body, text }` of a fetch Response; `body` is undefined when the text is not JSON. */
export async function readResponse(res) {
  const text = await res.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, headers: res.headers, body, text };
}
