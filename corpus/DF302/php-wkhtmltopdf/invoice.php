<?php
require __DIR__ . '/vendor/autoload.php';

$pdf = new Knp\Snappy\Pdf(__DIR__ . '/vendor/h4cc/wkhtmltopdf-amd64/bin/wkhtmltopdf-amd64');
file_put_contents('php://stdout', $pdf->getOutputFromHtml('<h1>Invoice</h1>'));
