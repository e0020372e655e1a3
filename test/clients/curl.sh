#!/usr/bin/env bash
# curl as one client of the real-client matrix (real-clients.test.ts). Usage: curl.sh BASE OUTDIR,
# with one request per stdin line: NAME METHOD PATH BODY (BODY: none, form, json or chunked).
# Prints one JSON line per request ({name, status, headers}) and writes the body to OUTDIR/NAME.body.
# Bodies come from C66_FORM_BODY, C66_JSON_BODY and the file C66_UPLOAD_FILE; C66_TOKEN, when set,
# is sent as a Bearer token (the direct calls to the simulator).
set -euo pipefail
base=$1 out=$2
while read -r name method path body; do
  args=(-sS --max-time 60 -X "$method" -o "$out/$name.body"
    -w "{\"name\":\"$name\",\"status\":%{response_code},\"headers\":%{header_json}}\n")
  if [ -n "${C66_TOKEN:-}" ]; then args+=(-H "Authorization: Bearer $C66_TOKEN"); fi
  case $body in
    form) args+=(-H 'Content-Type: application/x-www-form-urlencoded' --data-binary "$C66_FORM_BODY") ;;
    json) args+=(-H 'Content-Type: application/json' --data-binary "$C66_JSON_BODY") ;;
    chunked) args+=(-H 'Content-Type: application/octet-stream' -H 'Transfer-Encoding: chunked' --data-binary "@$C66_UPLOAD_FILE") ;;
  esac
  # header_json spans lines: one line per request for the reader.
  curl "${args[@]}" "$base$path" | tr -d '\n'
  echo
done
