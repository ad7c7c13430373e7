// Plain HTTP exchanges of the benchmark runners: one request, the whole answer as text.

import http from "node:http";

/** `method url` with an optional JSON body; resolves with the status, headers and body, whatever the status. */
export function exchange(url, method, body, agent = false) {
  return new Promise((resolve, reject) => {
    const request = http.request(
      url,
      { method, agent, headers: body === undefined ? {} : { "content-type": "application/json" } },
      (response) => {
        const chunks = [];
        response.on("data", (chunk) => chunks.push(chunk));
        response.on("end", () =>
          resolve({
            status: response.statusCode,
            headers: response.headers,
            rawHeaders: response.rawHeaders,
            body: Buffer.concat(chunks).toString("utf8"),
          }),
        );
        response.on("error", reject);
      },
    );
    request.setTimeout(10_000, () => request.destroy(new Error(`${method} ${url}: no answer within 10 s`)));
    request.on("error", reject);
    request.end(body);
  });
}
