<?php
/**
 * The client at work, from the command line: php demo.php
 * Reads STOCKSCANNER_URL and STOCKSCANNER_API_KEY; prints one JSON document of what it saw.
 * The test suite runs it against a live server (tests/examples/test_wordpress_php.py).
 */
require __DIR__ . '/stockscanner-client.php';

$scanner = new StockScannerClient(getenv('STOCKSCANNER_URL'), getenv('STOCKSCANNER_API_KEY'));
$report = [];

$page = $scanner->get('/api/stocks/', ['ordering' => '-market_cap', 'page_size' => 5]);
$report['tickers'] = array_map(function ($row) { return $row['ticker']; }, $page['results']);
$report['count'] = $page['count'];

$before = StockScannerClient::$requests;
$scanner->get('/api/stocks/', ['page_size' => 5, 'ordering' => '-market_cap']); // same, reordered
$report['second_call_cached'] = StockScannerClient::$requests === $before;

$hits = $scanner->get('/api/stocks/search/', ['q' => getenv('STOCKSCANNER_QUERY') ?: 'apple']);
$report['search_first'] = $hits['count'] ? $hits['results'][0]['ticker'] : null;

foreach ([
    'unknown_ticker' => ['/api/stocks/NOPE123/', []],
    'bad_parameter' => ['/api/stocks/', ['price_min' => 'cheap']],
] as $name => $call) {
    try {
        $scanner->get($call[0], $call[1]);
        $report[$name] = null;
    } catch (StockScannerError $e) {
        $report[$name] = ['status' => $e->status, 'code' => $e->errorCode, 'member_message' => $e->forMembers()];
    }
}

$revoked = new StockScannerClient(getenv('STOCKSCANNER_URL'), 'AAAAAAAA.' . str_repeat('B', 32));
try {
    $revoked->get('/api/market/sectors/');
    $report['bad_key'] = null;
} catch (StockScannerError $e) {
    $report['bad_key'] = ['status' => $e->status, 'code' => $e->errorCode, 'message' => $e->getMessage()];
}

// The realtime burst limit: a member hammering the quote widget gets a polite message.
$report['burst'] = null;
for ($i = 0; $i < 5; $i++) {
    try {
        $scanner->get('/api/realtime/' . getenv('STOCKSCANNER_TICKER') . '/', ['n' => $i]);
    } catch (StockScannerError $e) {
        $report['burst'] = ['status' => $e->status, 'code' => $e->errorCode,
                            'retry_after' => $e->retryAfter, 'member_message' => $e->forMembers()];
        break;
    }
}

echo json_encode($report, JSON_PRETTY_PRINT), "\n";
