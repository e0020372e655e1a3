// Go's net/http as one client of the real-client matrix (real-clients.test.ts). Standard library
// only, so it builds offline. Usage: net_http BASE OUTDIR, one request per stdin line:
// NAME METHOD PATH BODY (none, form, json or chunked). Prints one JSON line per request
// ({name, status, headers}) and writes the body to OUTDIR/NAME.body. Redirects are not followed.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

func main() {
	base, out := os.Args[1], os.Args[2]
	token := os.Getenv("C66_TOKEN")
	client := &http.Client{
		Timeout:       60 * time.Second,
		Transport:     &http.Transport{}, // no Proxy: the machine's http_proxy must not reroute
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	lines := bufio.NewScanner(os.Stdin)
	enc := json.NewEncoder(os.Stdout)
	for lines.Scan() {
		f := strings.Fields(lines.Text())
		name, method, path, kind := f[0], f[1], f[2], f[3]
		var body io.Reader
		ctype := ""
		switch kind {
		case "form":
			body, ctype = strings.NewReader(os.Getenv("C66_FORM_BODY")), "application/x-www-form-urlencoded"
		case "json":
			body, ctype = strings.NewReader(os.Getenv("C66_JSON_BODY")), "application/json"
		case "chunked":
			file, err := os.Open(os.Getenv("C66_UPLOAD_FILE"))
			check(err)
			defer file.Close()
			// Hidden behind a plain io.Reader, its length is unknown: net/http sends it chunked.
			body, ctype = struct{ io.Reader }{file}, "application/octet-stream"
		}
		req, err := http.NewRequest(method, base+path, body)
		check(err)
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := client.Do(req)
		check(err)
		dst, err := os.Create(filepath.Join(out, name+".body"))
		check(err)
		_, err = io.Copy(dst, res.Body)
		check(err)
		check(dst.Close())
		check(res.Body.Close())
		headers := map[string][]string{}
		for k, v := range res.Header {
			headers[strings.ToLower(k)] = v
		}
		// net/http moves the framing out of Header; put it back so every client reports it.
		if len(res.TransferEncoding) > 0 {
			headers["transfer-encoding"] = res.TransferEncoding
		} else if res.ContentLength >= 0 && headers["content-length"] == nil && method != "HEAD" {
			headers["content-length"] = []string{strconv.FormatInt(res.ContentLength, 10)}
		}
		check(enc.Encode(map[string]interface{}{"name": name, "status": res.StatusCode, "headers": headers}))
	}
	check(lines.Err())
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
