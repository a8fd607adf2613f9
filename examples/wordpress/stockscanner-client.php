<?php
/**
 * Stock Scanner API client for WordPress (server side), PHP 7.4+.
 *
 * Drop this file into a plugin or theme and call it from PHP: the API key stays on the
 * server (never in a page). Answers are kept in WordPress transients (or, outside
 * WordPress, in this process's memory) for a short time, and error bodies become
 * StockScannerError exceptions whose message can be shown to a member.
 *
 *     $scanner = new StockScannerClient('https://api.example.com', getenv('STOCKSCANNER_API_KEY'));
 *     $page = $scanner->get('/api/stocks/', ['sector' => 'Energy', 'ordering' => '-change_percent']);
 *     foreach ($page['results'] as $stock) { echo $stock['ticker'], ' ', $stock['price'], "\n"; }
 *
 * It needs nothing but PHP's own HTTP stream wrapper (no curl extension).
 */

class StockScannerError extends RuntimeException
{
    /** @var int HTTP status (0: the API could not be reached) */
    public $status;
    /** @var string the error body's code: invalid, ticker_not_found, rate_limited, ... */
    public $errorCode;
    /** @var array per parameter, its messages (400 invalid) */
    public $details;
    /** @var string|null quote it when reporting a problem */
    public $requestId;
    /** @var int|null seconds to wait (429, 503) */
    public $retryAfter;

    public function __construct($status, $errorCode, $message, $details = [], $requestId = null, $retryAfter = null)
    {
        parent::__construct($message, $status);
        $this->status = $status;
        $this->errorCode = $errorCode;
        $this->details = $details;
        $this->requestId = $requestId;
        $this->retryAfter = $retryAfter;
    }

    /** A sentence for a member: what went wrong, and what to do. */
    public function forMembers()
    {
        switch ($this->errorCode) {
            case 'invalid':
                $parts = [];
                foreach ($this->details as $name => $messages) {
                    $parts[] = $name . ': ' . implode(' ', (array) $messages);
                }
                return 'Please check the search: ' . implode('; ', $parts);
            case 'rate_limited':
                return sprintf('Too many requests; try again in %d seconds.', $this->retryAfter ?: 60);
            case 'ticker_not_found':
            case 'not_found':
                return $this->getMessage();
            default:
                return 'Stock data is unavailable right now (reference ' . ($this->requestId ?: 'none') . ').';
        }
    }
}

class StockScannerClient
{
    private $baseUrl;
    private $apiKey;
    private $cacheSeconds;
    private $timeout;
    /** @var array outside WordPress: this process's own cache */
    private static $memory = [];
    /** @var int HTTP requests made by this process (for tests and debugging) */
    public static $requests = 0;

    public function __construct($baseUrl, $apiKey, $cacheSeconds = 60, $timeout = 5.0)
    {
        $this->baseUrl = rtrim($baseUrl, '/');
        $this->apiKey = $apiKey;
        $this->cacheSeconds = $cacheSeconds;
        $this->timeout = $timeout;
    }

    /**
     * GET a path of the API with query parameters; the decoded JSON answer.
     * Throws StockScannerError for any error answer (and when the API cannot be reached).
     */
    public function get($path, array $params = [])
    {
        ksort($params);
        $url = $this->baseUrl . $path . ($params ? '?' . http_build_query($params) : '');
        $cacheKey = 'stockscanner_' . md5($url);
        $cached = $this->cacheGet($cacheKey);
        if ($cached !== null) {
            return $cached;
        }
        list($status, $headers, $body) = $this->request($url);
        $data = json_decode($body, true);
        if ($status < 200 || $status >= 300) {
            throw $this->errorFrom($status, $headers, $data);
        }
        if (!is_array($data)) {
            throw new StockScannerError($status, 'bad_response', 'The API answered something that is not JSON.');
        }
        $this->cacheSet($cacheKey, $data);
        return $data;
    }

    private function request($url)
    {
        self::$requests++;
        $context = stream_context_create([
            'http' => [
                'method' => 'GET',
                'header' => "X-API-Key: {$this->apiKey}\r\nAccept: application/json\r\n",
                'timeout' => $this->timeout,
                'ignore_errors' => true, // 4xx/5xx bodies are read, not turned into warnings
            ],
        ]);
        $body = @file_get_contents($url, false, $context);
        if ($body === false || !isset($http_response_header)) {
            throw new StockScannerError(0, 'unreachable', 'The stock data service cannot be reached.');
        }
        $status = 0;
        $headers = [];
        foreach ($http_response_header as $line) {
            if (preg_match('#^HTTP/\S+\s+(\d{3})#', $line, $m)) {
                $status = (int) $m[1]; // the last status line wins (after redirects)
                $headers = [];
            } elseif (strpos($line, ':') !== false) {
                list($name, $value) = explode(':', $line, 2);
                $headers[strtolower(trim($name))] = trim($value);
            }
        }
        return [$status, $headers, $body];
    }

    private function errorFrom($status, array $headers, $data)
    {
        $error = is_array($data) && isset($data['error']) ? $data['error'] : [];
        $retry = isset($headers['retry-after']) ? (int) $headers['retry-after'] : null;
        return new StockScannerError(
            $status,
            isset($error['code']) ? $error['code'] : 'http_' . $status,
            isset($error['message']) ? $error['message'] : 'The API answered HTTP ' . $status . '.',
            isset($error['details']) ? (array) $error['details'] : [],
            isset($error['request_id']) ? $error['request_id'] : null,
            $retry
        );
    }

    private function cacheGet($key)
    {
        if (function_exists('get_transient')) {
            $value = get_transient($key);
            return $value === false ? null : $value;
        }
        if (isset(self::$memory[$key]) && self::$memory[$key][1] > time()) {
            return self::$memory[$key][0];
        }
        return null;
    }

    private function cacheSet($key, $value)
    {
        if (function_exists('set_transient')) {
            set_transient($key, $value, $this->cacheSeconds);
            return;
        }
        self::$memory[$key] = [$value, time() + $this->cacheSeconds];
    }
}
