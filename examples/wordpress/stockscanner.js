/**
 * Stock Scanner from a WordPress page's JavaScript, with a publishable key.
 *
 * A publishable key is made for this: it is visible to anyone who opens the page, so it
 * is bound to the site's origins (a request from any other page's origin gets 403) and
 * has its own plan. Create it with:
 *   manage.py create_api_key --user site --plan free --publishable \
 *       --origins https://members.example.com --name "members site widget"
 *
 *   <div id="movers"></div>
 *   <script type="module">
 *     import { stockScanner } from "/wp-content/plugins/stockscanner/stockscanner.js";
 *     const api = stockScanner("https://api.example.com", "PUBLISHABLE_KEY");
 *     const movers = await api.get("/api/market/movers/", { kind: "gainers", limit: 5 });
 *     document.querySelector("#movers").textContent =
 *       movers.results.map((s) => `${s.ticker} ${s.change_percent}%`).join(", ");
 *   </script>
 */
export class StockScannerError extends Error {
  constructor(status, body, retryAfter) {
    const error = (body && body.error) || {};
    super(error.message || `The API answered HTTP ${status}.`);
    this.status = status;
    this.code = error.code || `http_${status}`;
    this.details = error.details || {};
    this.requestId = error.request_id || null;
    this.retryAfter = retryAfter;
  }
}

export function stockScanner(baseUrl, publishableKey) {
  const base = baseUrl.replace(/\/+$/, "");
  return {
    async get(path, params = {}) {
      const query = new URLSearchParams(params).toString();
      const response = await fetch(`${base}${path}${query ? `?${query}` : ""}`, {
        headers: { "X-API-Key": publishableKey, Accept: "application/json" },
      });
      const body = await response.json().catch(() => null);
      if (!response.ok) {
        const retry = response.headers.get("Retry-After");
        throw new StockScannerError(response.status, body, retry ? Number(retry) : null);
      }
      return body;
    },
  };
}
