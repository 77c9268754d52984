package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

func TestRunRefusesMissingConfiguration(t *testing.T) {
	err := run(t.Context(), func(string) string { return "" }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "SCALEKIT_ENVIRONMENT_URL") || !strings.Contains(err.Error(), "SCALEKIT_CLIENT_ID") {
		t.Errorf("run(no environment) = %v; want an error naming SCALEKIT_ENVIRONMENT_URL and SCALEKIT_CLIENT_ID", err)
	}
}

// The command serves the demo API, which refuses a call without a token,
// and stops when its context ends.
func TestRunServesAndStops(t *testing.T) {
	env := map[string]string{"SCALEKIT_ENVIRONMENT_URL": "http://127.0.0.1:1", "SCALEKIT_CLIENT_ID": "dev-client", "DEMO_API_ADDR": "127.0.0.1:0"}
	ctx, cancel := context.WithCancel(t.Context())
	out, stdout := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- run(ctx, func(k string) string { return env[k] }, stdout); stdout.Close() }()

	listening := regexp.MustCompile(`url=(http://127\.0\.0\.1:\d+)`)
	sc := bufio.NewScanner(out)
	var base string
	for base == "" && sc.Scan() {
		if m := listening.FindStringSubmatch(sc.Text()); m != nil {
			base = m[1]
		}
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	if base == "" {
		t.Fatalf("run printed no listening URL; run returned %v", <-done)
	}
	resp, err := http.Get(base + "/hello")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /hello without a token = %d; want 401", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run after cancel = %v; want nil", err)
	}
}
